// Two real gateway processes (own port, data dir and instance id) on one real PostgreSQL server, driven over the
// native protocol and the HTTP API as a platform would: the "how it will be judged" list, end to end.
// Lean on purpose (it runs in every `npm test`): one cluster, two gateways with one listen shard and one recogniser
// worker each, a handful of short calls at a time; the order of the tests matters (A is killed near the end).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../gateway/models.js';
import { b64, TestCall } from './helpers/client.js';
import { labels, wireAudio } from './helpers/corpus.js';
import { startGatewayProcess, type GatewayProcess } from './helpers/fleet.js';
import { CALLING_HOURS } from './helpers/gateway.js';
import { startPostgres, type PgCluster } from './helpers/postgres.js';
import { until } from './helpers/until.js';
import { WebhookReceiver } from './helpers/webhookReceiver.js';
import { verifySignature } from '../gateway/webhooks/signature.js';

const RATE = 16000;
/** The fleet's evidence key: every instance signs the one chain with it (and the CLI checks with it). */
const EVIDENCE_KEY = randomBytes(32).toString('hex');
const CAP = 3;
let cluster: PgCluster;
let A: GatewayProcess;
let B: GatewayProcess;
/** The fleet's webhook receiver: it refuses everything (503) until the webhook test lets events through. */
const rx = new WebhookReceiver();
const WEBHOOK_SECRET = 'whsec_fleet_0123456789abcdef';
const open: TestCall[] = [];

const granted = labels().find((l) => l.kind === 'consent' && l.expected === 'granted' && l.file.startsWith('natural/'))!;
const answer = wireAudio(granted.file).samples;
const silence = (ms: number) => new Int16Array((RATE * ms) / 1000);
const tone = Int16Array.from({ length: RATE * 2 }, (_, i) => Math.round(4000 * Math.sin((2 * Math.PI * 440 * i) / RATE)));

function call(gw: GatewayProcess): TestCall {
  const c = new TestCall(gw.ws);
  open.push(c);
  return c;
}

function start(c: TestCall, callId: string, extra: Record<string, unknown> = {}) {
  return c.start({ callId, encoding: 'pcm16', sampleRate: RATE, ...extra });
}

/** An SSE subscription read line by line into events. */
function subscribe(url: string): { events: { type: string; [k: string]: unknown }[]; status: Promise<number>; ended: Promise<void>; close: () => void } {
  const ac = new AbortController();
  const events: { type: string; [k: string]: unknown }[] = [];
  let status!: (n: number) => void;
  const st = new Promise<number>((r) => (status = r));
  const ended = (async () => {
    try {
      const r = await fetch(url, { signal: ac.signal });
      status(r.status);
      if (r.status !== 200) return;
      let buf = '';
      for await (const chunk of r.body as unknown as AsyncIterable<Uint8Array>) {
        buf += Buffer.from(chunk).toString();
        let i: number;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const data = block.split('\n').find((l) => l.startsWith('data: '));
          if (data) events.push(JSON.parse(data.slice(6)));
        }
      }
    } catch {
      status(0);
    }
  })();
  return { events, status: st, ended, close: () => ac.abort() };
}

async function post(gw: GatewayProcess, path: string, body: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const r = await fetch(`${gw.http}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
}

/** The operator CLI as a separate process, on the fleet's database, beside instance A (its checkpoint file anchors). */
function cli(args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, ['bin/earshot.js', ...args], { cwd: PROJECT_ROOT, env: { ...process.env, EARSHOT_DATABASE_URL: cluster.url, EARSHOT_EVIDENCE_KEY: EVIDENCE_KEY, EARSHOT_DATA_DIR: A.dataDir, EARSHOT_LOG_LEVEL: 'warn' } });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (out += d));
    p.on('exit', (code) => resolve({ code: code ?? -1, out }));
  });
}

/** Streams real time until `done` or the call closes; returns the stream's promise. */
function keepStreaming(c: TestCall, audio: Int16Array): Promise<void> {
  return c.stream(audio, 'pcm16', RATE, 1).catch(() => undefined);
}

async function consentCall(gw: GatewayProcess, callId: string): Promise<string> {
  const c = call(gw);
  expect((await start(c, callId, { callType: 'notification', callee: '+8613900000100' })).type).toBe('ready');
  c.send({ type: 'expect_consent', promptId: 'may-we-continue', windowMs: 6000 });
  const decided = c.waitFor('consent', 15_000);
  const audio = new Int16Array(answer.length + RATE * 2);
  audio.set(answer);
  const streaming = keepStreaming(c, audio);
  const ev = await decided;
  c.close();
  await streaming;
  expect(ev.evidenceId).toMatch(/^[0-9A-Z]{26}$/);
  return ev.evidenceId as string;
}

beforeAll(async () => {
  cluster = await startPostgres();
  await rx.up();
  rx.answer = () => 503;
  const config = {
    webhooks: { url: rx.url, secret: WEBHOOK_SECRET, backoffMs: 50, maxBackoffMs: 500, timeoutMs: 2000 },
    policy: { clock: CALLING_HOURS, caps: { marketing: [{ max: CAP, windowHours: 24 }] } },
    asr: { workers: 1 },
    vad: { shards: 1 },
    fleet: { heartbeatMs: 1000, expireMs: 4000 },
    database: { connectTimeoutMs: 1000 },
  };
  [A, B] = await Promise.all([
    startGatewayProcess({ name: 'gw-a', databaseUrl: cluster.url, config, env: { EARSHOT_EVIDENCE_KEY: EVIDENCE_KEY } }),
    startGatewayProcess({ name: 'gw-b', databaseUrl: cluster.url, config, env: { EARSHOT_EVIDENCE_KEY: EVIDENCE_KEY } }),
  ]);
}, 180_000);

afterAll(async () => {
  for (const c of open) c.close();
  await Promise.all([A?.stop(), B?.stop()]);
  await cluster?.destroy();
  await rx.down();
  // The database URL's password never reaches a log line.
  for (const g of [A, B]) if (g) expect(g.output()).not.toContain(cluster.password);
});

describe('a fleet of two gateways on one PostgreSQL', () => {
  it('20 concurrent marketing starts to one callee, spread over both, admit exactly the cap', async () => {
    const calls = Array.from({ length: 20 }, (_, i) => call(i % 2 ? A : B));
    const answers = await Promise.all(calls.map((c, i) => start(c, `cap-${i}`, { callType: 'marketing', callee: '+86 139 0000 0001' })));
    const ready = answers.filter((e) => e.type === 'ready');
    const rejected = answers.filter((e) => e.type === 'rejected');
    expect(ready).toHaveLength(CAP);
    expect(rejected).toHaveLength(20 - CAP);
    expect(new Set(rejected.map((e) => e.reason))).toEqual(new Set(['frequency_cap']));
    for (const c of calls) c.close();
  });

  it('POST /v1/dnc on A refuses the next start to that number on B', async () => {
    const add = await post(A, '/v1/dnc', { number: '+86 139 0000 0002', reason: 'asked on the phone' });
    expect(add.status).toBe(201);
    const ev = await start(call(B), 'dnc-1', { callType: 'marketing', callee: '+8613900000002' });
    expect(ev).toMatchObject({ type: 'rejected', reason: 'do_not_call' });
  });

  it('a call held on A is observed (SSE, subscribed before it starts) and controlled through B', async () => {
    const sse = subscribe(`${B.http}/v1/calls/ctl-1/events?wait=15000`);
    await new Promise((r) => setTimeout(r, 300)); // B is waiting before the call exists anywhere
    const c = call(A);
    expect((await start(c, 'ctl-1', { callType: 'notification', callee: '+8613900000003' })).type).toBe('ready');
    const streaming = keepStreaming(c, silence(20_000));
    expect(await sse.status).toBe(200);
    await until(() => sse.events.some((e) => e.type === 'ready'), 5000, 'ready on the stream through B');

    // A duplicate of a live call id is refused on the other instance.
    const dup = await start(call(B), 'ctl-1', { callType: 'notification', callee: '+8613900000003' });
    expect(dup.type === 'rejected' || dup.type === 'error').toBe(true);
    expect(dup.reason ?? dup.code).toBe('duplicate_call');

    const play = await post(B, '/v1/calls/ctl-1/play', { promptId: 'tone', audio: b64('pcm16', tone), interruptible: true });
    expect(play.status).toBe(202);
    await c.waitFor('prompt_started', 5000);
    await c.firstFrame();
    await until(() => sse.events.some((e) => e.type === 'prompt_started'), 5000, 'prompt_started through B');
    expect((await post(B, '/v1/calls/ctl-1/stop_prompt', {})).status).toBe(202);
    const finished = await c.waitFor('prompt_finished', 5000);
    expect(finished.interrupted).toBe(true);
    expect((await post(B, '/v1/calls/ctl-1/hangup', {})).status).toBe(202);
    await c.waitFor('call_summary', 5000);
    await sse.ended;
    expect(sse.events.map((e) => e.type)).toEqual(expect.arrayContaining(['ready', 'prompt_started', 'prompt_finished', 'call_summary']));
    await streaming;
    // Ended: unknown on both instances.
    expect((await post(B, '/v1/calls/ctl-1/play', { promptId: 'tone', audio: b64('pcm16', tone) })).status).toBe(404);
  });

  it('a stream on B waiting for a call learns that A refused it', async () => {
    const sse = subscribe(`${B.http}/v1/calls/ref-1/events?wait=15000`);
    await new Promise((r) => setTimeout(r, 300));
    expect(await start(call(A), 'ref-1', { callType: 'marketing', callee: '+8613900000002' })).toMatchObject({ type: 'rejected', reason: 'do_not_call' });
    await sse.ended;
    expect(sse.events).toEqual([expect.objectContaining({ type: 'rejected', callId: 'ref-1', reason: 'do_not_call' })]);
  });

  it('consent decided on both instances lands in one chain that `earshot evidence verify` accepts', async () => {
    const ids = await Promise.all([consentCall(A, 'consent-a1'), consentCall(B, 'consent-b1'), consentCall(A, 'consent-a2'), consentCall(B, 'consent-b2')]);
    // Evidence made on A is served by B, audio included.
    const rec = (await (await fetch(`${B.http}/v1/evidence/${ids[0]}`)).json()) as { callId: string; audioSha256: string };
    expect(rec.callId).toBe('consent-a1');
    const wav = Buffer.from(await (await fetch(`${B.http}/v1/evidence/${ids[0]}/audio`)).arrayBuffer());
    const { createHash } = await import('node:crypto');
    expect(createHash('sha256').update(wav).digest('hex')).toBe(rec.audioSha256);
    const v = await cli(['evidence', 'verify']);
    expect(v.out).toMatch(/^ok: 4 records verified/m);
    expect(v.code).toBe(0);
  });

  it('SIGKILL of A in a consent window: B’s calls go on, the chain verifies, A leaves the directory', async () => {
    const onA = call(A);
    expect((await start(onA, 'kill-a', { callType: 'notification', callee: '+8613900000004' })).type).toBe('ready');
    onA.send({ type: 'expect_consent', promptId: 'q', windowMs: 8000 });
    const aStreaming = keepStreaming(onA, answer);
    const onB = call(B);
    expect((await start(onB, 'survive-b', { callType: 'notification', callee: '+8613900000005' })).type).toBe('ready');
    onB.send({ type: 'expect_consent', promptId: 'q', windowMs: 6000 });
    const bDecided = onB.waitFor('consent', 15_000);
    const audio = new Int16Array(answer.length + RATE * 2);
    audio.set(answer);
    const bStreaming = keepStreaming(onB, audio);
    await new Promise((r) => setTimeout(r, 400)); // inside A's window, before its answer has ended
    A.kill('SIGKILL');
    const killedAt = performance.now();
    expect(await A.exited).toMatchObject({ signal: 'SIGKILL' });
    expect((await bDecided).evidenceId).toBeTruthy();
    await bStreaming;
    expect((await onB.hangup()).type).toBe('call_summary');
    await aStreaming;

    const v = await cli(['evidence', 'verify']);
    expect(v.code, v.out).toBe(0);
    expect(v.out).toMatch(/^ok: (5|6) records verified/m); // A's decision is there if it committed before the kill

    const db = new pg.Client({ connectionString: cluster.url });
    await db.connect();
    try {
      let left = 1;
      while (left && performance.now() - killedAt < 30_000) {
        left = Number((await db.query(`SELECT count(*) AS n FROM call_directory WHERE instance_id = 'gw-a'`)).rows[0].n);
        if (left) await new Promise((r) => setTimeout(r, 250));
      }
      expect(left).toBe(0);
    } finally {
      await db.end();
    }
    // Its call is unknown through B now, not forwarded to a dead address.
    expect((await post(B, '/v1/calls/kill-a/stop_prompt', {})).status).toBe(404);
  });

  it('webhooks from the PostgreSQL outbox: every stored decision announced once, A\'s rows delivered by B after A died', async () => {
    const db = new pg.Client({ connectionString: cluster.url });
    await db.connect();
    let rows: { id: string; type: string; call_id: string; body: string }[];
    let evidence: { id: string; callId: string; decision: string }[];
    try {
      rows = (await db.query(`SELECT id, type, call_id, body FROM webhook_outbox`)).rows;
      evidence = (await db.query(`SELECT id, "callId", decision FROM evidence`)).rows;
    } finally {
      await db.end();
    }
    // Written in the evidence record's transaction: one consent row per record, A's last one included if it committed.
    const consent = rows.filter((r) => r.type === 'consent').map((r) => JSON.parse(r.body) as { data: { evidenceId: string; decision: string } });
    expect(consent.map((b) => b.data.evidenceId).sort()).toEqual(evidence.map((e) => e.id).sort());
    for (const e of evidence) expect(consent.find((b) => b.data.evidenceId === e.id)?.data.decision).toBe(e.decision);
    expect(rows.some((r) => r.type === 'rejected' && r.call_id.startsWith('cap-'))).toBe(true); // refusals, with their call records
    expect(rows.some((r) => r.type === 'dnc_added')).toBe(true);
    expect(rx.accepted()).toEqual([]);

    rx.answer = () => 204; // A is dead: B delivers what both wrote
    await until(() => rows.every((r) => rx.accepted().some((h) => h.body.id === r.id)), 15_000, 'every stored event delivered by B');
    const stored = new Map(rows.map((r) => [r.id, r.body]));
    const delivered = rx.accepted().filter((h) => stored.has(h.body.id));
    expect(new Set(delivered.map((h) => h.body.id)).size).toBe(delivered.length); // once each
    for (const h of delivered) {
      expect(h.raw).toBe(stored.get(h.body.id));
      expect(verifySignature(WEBHOOK_SECRET, h.headers['earshot-signature'] as string, h.raw).ok).toBe(true);
    }
    expect(delivered.filter((h) => h.body.callId === 'consent-a1').length).toBeGreaterThan(0);
  });

  it('with PostgreSQL stopped starts are refused policy_unavailable; once it is back they are accepted, no restart', async () => {
    await cluster.stop();
    try {
      const ev = await start(call(B), 'down-1', { callType: 'notification', callee: '+8613900000006' });
      expect(ev).toMatchObject({ type: 'rejected', reason: 'policy_unavailable' });
    } finally {
      await cluster.start();
    }
    let ev: Record<string, unknown> = {};
    const t0 = performance.now();
    for (let i = 0; performance.now() - t0 < 15_000; i++) {
      const c = call(B);
      ev = await start(c, `up-${i}`, { callType: 'notification', callee: '+8613900000006' });
      c.close();
      if (ev.type === 'ready') break;
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(ev.type).toBe('ready');
  });
});
