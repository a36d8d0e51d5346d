// `npx tsx bench/fleet-transport.ts [N]`: how a control command reaches the instance that holds the call, measured
// both ways the issue allows, on one throwaway PostgreSQL cluster and loopback:
//   forward — instance B forwards the HTTP request to A (gateway/fleet/forward.ts, keep-alive between instances)
//             and relays A's answer: one HTTP round trip B→A;
//   notify  — B publishes the command with pg_notify, A receives it on its LISTEN connection and answers with
//             pg_notify on B's channel: two notifications through the database (each a commit).
// Also the one-way event path: an event published by A reaching B (NOTIFY) against the same event relayed on an
// SSE stream that B forwards from A. Prints p50/p95/p99 in ms.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { forward } from '../gateway/fleet/forward.js';
import { Postgres } from '../gateway/store/postgres/Postgres.js';
import { startPostgres } from '../test/helpers/postgres.js';

const N = Number(process.argv[2] ?? 500);

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return Math.round(s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] * 1000) / 1000;
}
const report = (name: string, xs: number[]) => console.log(`${name.padEnd(34)} p50 ${pct(xs, 50)}  p95 ${pct(xs, 95)}  p99 ${pct(xs, 99)} ms  (n=${xs.length})`);

async function listen(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ url: string; close: () => void }> {
  const s = createServer(handler);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(s.address() as { port: number }).port}`, close: () => (s.closeAllConnections(), s.close()) };
}

async function main(): Promise<void> {
  const cluster = await startPostgres();
  const a = new Postgres({ url: cluster.url });
  const b = new Postgres({ url: cluster.url });
  try {
    // --- commands ---------------------------------------------------------------------------------------------
    let push = null as ((s: string) => void) | null;
    const holder = await listen((req, res) => {
      if (req.url?.startsWith('/events')) {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.flushHeaders();
        push = (s) => res.write(s);
        return;
      }
      req.resume();
      req.on('end', () => {
        res.writeHead(202, { 'content-type': 'application/json' });
        res.end('{"ok":true}');
      });
    });
    const front = await listen((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => void forward(req, res, { address: holder.url, path: req.url!, method: req.method!, body: req.method === 'POST' ? Buffer.concat(chunks) : undefined, token: 't', instanceId: 'b', kind: req.method === 'POST' ? 'command' : 'events' }));
    });
    const direct: number[] = [];
    const fwd: number[] = [];
    for (let i = 0; i < N + 20; i++) {
      let t = performance.now();
      await (await fetch(`${holder.url}/v1/calls/x/stop_prompt`, { method: 'POST', body: '{}' })).text();
      if (i >= 20) direct.push(performance.now() - t);
      t = performance.now();
      await (await fetch(`${front.url}/v1/calls/x/stop_prompt`, { method: 'POST', body: '{}' })).text();
      if (i >= 20) fwd.push(performance.now() - t);
    }
    report('command, client → holder directly', direct);
    report('command, client → B → holder (forward)', fwd);

    const replies = new Map<string, () => void>();
    a.listen('cmd_a', (payload) => void a.query("SELECT pg_notify('reply_b', $1)", [payload]));
    b.listen('reply_b', (payload) => replies.get(payload)?.());
    await Promise.all([a.listening(), b.listening()]);
    const viaDb: number[] = [];
    for (let i = 0; i < N + 20; i++) {
      const id = String(i);
      const t = performance.now();
      await new Promise<void>((resolve) => {
        replies.set(id, resolve);
        void b.query("SELECT pg_notify('cmd_a', $1)", [id]);
      });
      replies.delete(id);
      if (i >= 20) viaDb.push(performance.now() - t);
    }
    report('command + answer via NOTIFY (B→A→B)', viaDb);

    // --- events -----------------------------------------------------------------------------------------------
    const sse = await fetch(`${front.url}/events`);
    const reader = sse.body!.getReader();
    while (!push) await new Promise((r) => setTimeout(r, 5));
    const sseLat: number[] = [];
    for (let i = 0; i < N + 20; i++) {
      const t = performance.now();
      push!(`event: x\ndata: ${i}\n\n`);
      await reader.read();
      if (i >= 20) sseLat.push(performance.now() - t);
    }
    report('event, holder → B → SSE client', sseLat);
    await reader.cancel();
    const evLat: number[] = [];
    let got = null as (() => void) | null;
    b.listen('events_b', () => got?.());
    await b.listening();
    for (let i = 0; i < N + 20; i++) {
      const t = performance.now();
      await new Promise<void>((resolve) => {
        got = resolve;
        void a.query("SELECT pg_notify('events_b', $1)", [String(i)]);
      });
      if (i >= 20) evLat.push(performance.now() - t);
    }
    report('event via NOTIFY (A → B)', evLat);
    holder.close();
    front.close();
  } finally {
    await a.close();
    await b.close();
    await cluster.destroy();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
