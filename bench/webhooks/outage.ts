// The webhook outage demo (`npm run demo:webhook-outage`): a real gateway process, a real HTTP receiver, N real
// consent calls (real audio from ../shared/audio/natural, the real recogniser), the receiver down for a minute with
// the gateway restarted in the middle of the outage, then the receiver back. Reports what the issue judges: every
// consent decision delivered, exactly as stored and signed, how many times, and how long after the receiver's
// return the last one arrived.
//
//   npm run demo:webhook-outage -- [--calls 12] [--outage-s 60] [--restart-at-s 30] [--concurrency 6] [--json out.json]
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import YAML from 'yaml';
import { readWav } from '../../gateway/audio/wav.js';
import { databasePath, openDatabase } from '../../gateway/store/Database.js';
import { verifySignature } from '../../gateway/webhooks/signature.js';
import { TestCall } from '../../test/helpers/client.js';
import { WebhookReceiver } from '../../test/helpers/webhookReceiver.js';
import { readLabels } from '../scenarios.js';
import { startServer, type ServerProcess } from '../serverProcess.js';

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const AUDIO = resolve(ROOT, '..', 'shared', 'audio');
const SECRET = 'whsec_demo_outage_0123456789abcdef';
/** 10:00 in China, inside every callee's calling hours (as bench/run.ts). */
const BENCH_POLICY_CLOCK = 'fixed:2026-01-14T02:00:00Z';

const { values: args } = parseArgs({
  options: {
    calls: { type: 'string', default: '12' },
    'outage-s': { type: 'string', default: '60' },
    'restart-at-s': { type: 'string', default: '30' },
    concurrency: { type: 'string', default: '6' },
    json: { type: 'string' },
  },
});
const CALLS = Number(args.calls);
const OUTAGE_MS = Number(args['outage-s']) * 1000;
const RESTART_AT_MS = Number(args['restart-at-s']) * 1000;
const CONCURRENCY = Number(args.concurrency);

/** One consent call: start, the answer streamed at real time, silence until the decision, hang up. */
async function consentCall(url: string, callId: string, file: string): Promise<{ decision: string; evidenceId: string | null }> {
  const audio = readWav(join(AUDIO, file));
  const c = new TestCall(url);
  const ready = await c.start({ callId, encoding: 'pcm16', sampleRate: 16000, callee: `+86139${String(10_000_000 + Number(callId.replace(/\D/g, ''))).slice(-8)}` });
  if (ready.type !== 'ready') throw new Error(`${callId}: ${JSON.stringify(ready)}`);
  c.send({ type: 'expect_consent', promptId: 'may-we-record' });
  await c.stream(audio.samples, 'pcm16', audio.sampleRate, 1);
  const decided = c.waitFor('consent', 10_000);
  let done = false;
  void decided.finally(() => (done = true)).catch(() => undefined);
  const silence = new Int16Array(320);
  for (let i = 0; i < 200 && !done; i++) await c.stream(silence, 'pcm16', 16000, 1);
  const ev = (await decided) as unknown as { decision: string; evidenceId: string | null };
  await c.hangup();
  return { decision: ev.decision, evidenceId: ev.evidenceId };
}

/** The gateway's settings: its data directory, and a policy clock inside the callees' calling hours. */
function configFile(dataDir: string): string {
  const f = join(dataDir, 'gateway-config.yaml');
  writeFileSync(f, YAML.stringify({ dataDir: join(dataDir, 'data'), policy: { clock: BENCH_POLICY_CLOCK } }));
  return f;
}

async function gateway(dataDir: string, receiverPort: number, name: string): Promise<ServerProcess> {
  return startServer({
    name,
    entry: 'gateway/main.ts',
    cwd: ROOT,
    portEnv: 'EARSHOT_PORT',
    logFile: join(dataDir, `${name}.log`),
    env: {
      EARSHOT_CONFIG: configFile(dataDir),
      EARSHOT_HOST: '127.0.0.1',
      EARSHOT_GRPC_PORT: '0',
      EARSHOT_AUDIOSOCKET_PORT: '0',
      EARSHOT_WEBHOOK_URL: `http://127.0.0.1:${receiverPort}/hooks`,
      EARSHOT_WEBHOOK_SECRET: SECRET,
      EARSHOT_LOG_LEVEL: 'warn',
    },
  });
}

const pending = async (g: ServerProcess) => ((await (await fetch(`${g.baseUrl}/v1/webhooks`)).json()) as { counts: Record<string, number> }).counts;

async function main(): Promise<void> {
  const files = readLabels(AUDIO).filter((l) => l.file.startsWith('natural/') && l.kind === 'consent').map((l) => l.file);
  if (!files.length) throw new Error(`no consent clips under ${AUDIO}/natural`);
  const dataDir = mkdtempSync(join(tmpdir(), 'earshot-webhook-outage-'));
  const rx = new WebhookReceiver(); // answers 204 while up; refuses connections while down (same port)
  await rx.up(); // takes a port, then goes down: connections to it are refused for the whole outage
  await rx.down();
  const downAt = performance.now();
  const log = (msg: string) => console.log(`[${((performance.now() - downAt) / 1000).toFixed(1).padStart(5)} s] ${msg}`);
  log(`receiver down (port ${rx.port}); starting gateway A on ${dataDir}`);
  let gw = await gateway(dataDir, rx.port, 'gateway-a');
  const live: ServerProcess[] = [gw];
  try {
    log(`gateway A ready; ${CALLS} consent calls, ${CONCURRENCY} at a time`);
    const decisions: { callId: string; decision: string; evidenceId: string | null }[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: Math.min(CONCURRENCY, CALLS) }, async () => {
        while (next < CALLS) {
          const i = next++;
          const callId = `outage-${String(i).padStart(3, '0')}`;
          decisions.push({ callId, ...(await consentCall(`${gw.wsUrl}/v1/stream`, callId, files[i % files.length])) });
        }
      }),
    );
    log(`${decisions.length} decisions (${decisions.filter((d) => d.evidenceId).length} with evidence); outbox ${JSON.stringify(await pending(gw))}`);
    const restartIn = RESTART_AT_MS - (performance.now() - downAt);
    if (restartIn > 0) await new Promise((r) => setTimeout(r, restartIn));
    log('gateway A stopping (SIGTERM); gateway B starting on the same data directory');
    await gw.stop();
    gw = await gateway(dataDir, rx.port, 'gateway-b');
    live.push(gw);
    log(`gateway B ready; outbox ${JSON.stringify(await pending(gw))}`);
    const upIn = OUTAGE_MS - (performance.now() - downAt);
    if (upIn > 0) await new Promise((r) => setTimeout(r, upIn));
    // The bodies as stored, to compare the delivered bytes with.
    const db = openDatabase({ file: databasePath(join(dataDir, 'data')), readonly: true });
    const stored = new Map((db.prepare(`SELECT id, type, body, attempts FROM webhook_outbox`).all() as { id: string; type: string; body: string; attempts: number }[]).map((r) => [r.id, r]));
    db.close();
    await rx.up();
    const upAt = performance.now();
    log(`receiver back after ${((upAt - downAt) / 1000).toFixed(1)} s; ${stored.size} events stored (${[...stored.values()].filter((r) => r.type === 'consent').length} consent)`);
    const wanted = new Set([...stored.values()].filter((r) => r.type === 'consent').map((r) => r.id));
    const deadline = upAt + 120_000;
    while (performance.now() < deadline && new Set(rx.requests.filter((h) => wanted.has(h.body.id)).map((h) => h.body.id)).size < wanted.size) {
      await new Promise((r) => setTimeout(r, 100));
    }
    // Everything (call summaries too) and a moment for any duplicate to show up.
    while (performance.now() < deadline && new Set(rx.requests.map((h) => h.body.id)).size < stored.size) await new Promise((r) => setTimeout(r, 100));
    await new Promise((r) => setTimeout(r, 2000));

    const consent = rx.requests.filter((h) => h.body.type === 'consent');
    const ids = new Set(consent.map((h) => h.body.id));
    const lastConsentAt = Math.max(...consent.map((h) => h.at));
    const lastAnyAt = Math.max(...rx.requests.map((h) => h.at));
    const signed = rx.requests.filter((h) => verifySignature(SECRET, h.headers['earshot-signature'] as string, h.raw).ok).length;
    const asStored = rx.requests.filter((h) => stored.get(h.body.id)?.body === h.raw).length;
    const headerIds = rx.requests.filter((h) => h.headers['earshot-event-id'] === h.body.id).length;
    const byEvidence = new Map(consent.map((h) => [h.body.data.evidenceId as string, h.body.data.decision as string]));
    const matched = decisions.filter((d) => d.evidenceId && byEvidence.get(d.evidenceId) === d.decision).length;
    const attempts = rx.requests.map((h) => Number(h.headers['earshot-delivery-attempt']));
    const report = {
      calls: CALLS,
      consentDecisions: decisions.length,
      decisionsWithEvidence: decisions.filter((d) => d.evidenceId).length,
      outageSeconds: Number(((upAt - downAt) / 1000).toFixed(1)),
      gatewayRestartedAtSeconds: RESTART_AT_MS / 1000,
      eventsStored: stored.size,
      consentWebhooksDelivered: ids.size,
      consentDecisionsMatchedByEvidenceId: matched,
      requestsReceived: rx.requests.length,
      duplicates: rx.requests.length - new Set(rx.requests.map((h) => h.body.id)).size,
      signaturesValid: `${signed}/${rx.requests.length}`,
      bodiesByteIdenticalToStored: `${asStored}/${rx.requests.length}`,
      eventIdHeaderMatchesBody: `${headerIds}/${rx.requests.length}`,
      deliveryAttemptOfAcceptedRequest: { min: Math.min(...attempts), max: Math.max(...attempts) },
      secondsFromReceiverReturnToLastConsent: Number(((lastConsentAt - upAt) / 1000).toFixed(2)),
      secondsFromReceiverReturnToLastEvent: Number(((lastAnyAt - upAt) / 1000).toFixed(2)),
      outboxAfter: await pending(gw),
    };
    log('done');
    console.log(JSON.stringify(report, null, 2));
    if (args.json) writeFileSync(args.json, `${JSON.stringify(report, null, 2)}\n`);
    const ok = ids.size === decisions.length && matched === decisions.length && signed === rx.requests.length && asStored === rx.requests.length;
    if (!ok) process.exitCode = 1;
  } finally {
    for (const g of live) await g.stop().catch(() => undefined);
    await rx.down();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
