// The gateway started as production starts it (the Dockerfile's CMD, in its own process group), with its stdout
// reader gone or stalled, still drains on one SIGTERM sent to the whole group and exits (issue #13, item 2).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../gateway/models.js';
import WebSocket from 'ws';
import { TestCall } from './helpers/client.js';
import { productionCommand } from '../bench/productionStart.js';
import { CALLING_HOURS } from './helpers/gateway.js';

/** Makes the gateway write a lot of log lines: a Twilio stream sending events it ignores, each logged at debug. */
async function logFlood(port: number, messages: number): Promise<void> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/v1/twilio`);
  await new Promise((resolve, reject) => (ws.once('open', resolve), ws.once('error', reject)));
  ws.send(JSON.stringify({ event: 'start', streamSid: 'MZflood', start: { callSid: 'CAflood', customParameters: { callType: 'notification' } } }));
  const junk = JSON.stringify({ event: 'not_a_twilio_event', streamSid: 'MZflood', filler: 'x'.repeat(200) });
  for (let i = 0; i < messages; i++) ws.send(junk);
  await new Promise((r) => setTimeout(r, 200));
  ws.close();
}

interface Started {
  child: ChildProcess;
  port: number;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Spawns the production command detached (its own process group) and reads stdout until it is listening. */
async function startProduction(): Promise<Started> {
  const [cmd, ...args] = productionCommand();
  const dataDir = mkdtempSync(join(tmpdir(), 'earshot-prod-'));
  // The test's call has no callee: on the real clock it would be refused at night (policy.withoutCallee).
  const config = join(dataDir, 'config.json');
  writeFileSync(config, JSON.stringify({ policy: { clock: CALLING_HOURS } }));
  const child = spawn(cmd, args, {
    cwd: PROJECT_ROOT,
    detached: true,
    stdio: ['ignore', 'pipe', 'ignore'],
    env: {
      ...process.env,
      VITEST: '',
      EARSHOT_PORT: '0',
      EARSHOT_HOST: '127.0.0.1',
      EARSHOT_DATA_DIR: dataDir,
      EARSHOT_CONFIG: config,
      EARSHOT_ASR_MODEL: '',
      EARSHOT_SHUTDOWN_GRACE_MS: '1500',
      EARSHOT_LOG_LEVEL: 'debug',
      EARSHOT_LOG_BUFFER_BYTES: '65536',
    },
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  let out = '';
  const port = await new Promise<number>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`gateway did not start: ${out.slice(-2000)}`)), 60_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /"port":(\d+)[^\n]*"msg":"earshot listening"/.exec(out);
      if (m) {
        clearTimeout(t);
        resolve(Number(m[1]));
      }
    });
    void exited.then((e) => reject(new Error(`gateway exited at start (${JSON.stringify(e)}): ${out.slice(-2000)}`)));
  });
  return { child, port, exited };
}

async function liveCall(port: number, callId: string): Promise<{ call: TestCall; streaming: Promise<void> }> {
  const call = new TestCall(`ws://127.0.0.1:${port}/v1/stream`);
  expect((await call.start({ callId, encoding: 'pcm16', sampleRate: 16000 })).type).toBe('ready');
  const streaming = call.stream(new Int16Array(16000 * 20), 'pcm16', 16000, 1);
  await new Promise((r) => setTimeout(r, 300));
  return { call, streaming };
}

async function expectDrainAndExit(s: Started, call: TestCall, streaming: Promise<void>, copies = 1): Promise<void> {
  const t0 = performance.now();
  // As `docker stop` or a supervisor would: SIGTERM to the whole process group; `copies` > 1 sends it again a
  // moment later, as a wrapper in the group forwarding it would.
  process.kill(-s.child.pid!, 'SIGTERM');
  for (let i = 1; i < copies; i++) {
    await new Promise((r) => setTimeout(r, 50));
    process.kill(-s.child.pid!, 'SIGTERM');
  }
  const err = await call.waitFor((e) => e.type === 'error' && e.code === 'shutdown', 10_000);
  expect(err.code).toBe('shutdown');
  expect((await call.waitFor('call_summary', 5000)).reason).toBe('shutdown');
  const exit = await Promise.race([s.exited, new Promise<null>((r) => setTimeout(() => r(null), 15_000))]);
  if (!exit) process.kill(-s.child.pid!, 'SIGKILL');
  expect(exit, 'the gateway exited by itself after draining').toEqual({ code: 0, signal: null });
  // Drained for the grace period (1.5 s), not "second signal: exiting now" at once.
  expect(performance.now() - t0).toBeGreaterThan(1400);
  await streaming.catch(() => undefined);
}

describe('production start (the Dockerfile CMD) in its own process group', () => {
  it('runs node directly, not npm or a wrapper that forwards signals again', () => {
    const [cmd] = productionCommand();
    expect(cmd).toBe('node');
  });

  it('with its stdout reader closed, SIGTERM to the group (and a forwarded copy of it) drains the live call and the process exits', async () => {
    const s = await startProduction();
    try {
      // The log shipper goes away: every later write to stdout fails with EPIPE.
      s.child.stdout!.destroy();
      const { call, streaming } = await liveCall(s.port, 'prod-closed');
      await logFlood(s.port, 3000);
      expect((await fetch(`http://127.0.0.1:${s.port}/healthz`)).status).toBe(200);
      await expectDrainAndExit(s, call, streaming, 2);
    } finally {
      if (s.child.exitCode === null) process.kill(-s.child.pid!, 'SIGKILL');
    }
  }, 60_000);

  it('with its stdout reader stalled (pipe full), the gateway still serves, drains on one SIGTERM and exits', async () => {
    const s = await startProduction();
    try {
      // Nobody reads: the pipe fills with debug lines and stays full.
      s.child.stdout!.pause();
      const { call, streaming } = await liveCall(s.port, 'prod-stalled');
      await logFlood(s.port, 3000);
      expect((await fetch(`http://127.0.0.1:${s.port}/healthz`)).status).toBe(200);
      await expectDrainAndExit(s, call, streaming);
    } finally {
      if (s.child.exitCode === null) process.kill(-s.child.pid!, 'SIGKILL');
    }
  }, 60_000);
});
