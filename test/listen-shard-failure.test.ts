// gateway/listen/ListenService.ts: a listen worker that fails at run time (a tick that throws, an uncaught exception, a
// tick left unanswered past stuckMs) ends the calls on its shard at once, new calls go to the shards that serve, the
// shard gets a replacement worker, and a shard that cannot get one is given up on (/healthz 503). Real workers, failed through the test-only fault
// message (ListenTestFault), which they honour only with EARSHOT_TEST_FAULTS=1 in their environment.
import { copyFileSync, mkdtempSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ConfigSchema } from '../gateway/config.js';
import type { Gateway } from '../gateway/Gateway.js';
import { ListenService, ListenUnavailable, type ListenOptions, type ListenSession } from '../gateway/listen/ListenService.js';
import { isResolved, resolveModel } from '../gateway/models.js';
import { logDestination } from '../gateway/ops/log.js';
import { metrics } from '../gateway/ops/metrics.js';
import { TestCall } from './helpers/client.js';
import { startGateway } from './helpers/gateway.js';
import { until } from './helpers/until.js';

const model = resolveModel('silero-vad-v5');
if (!isResolved(model)) throw new Error('model missing');
const modelFile = model.files.model;
// A tick length no other file uses: the services here (ListenService.start shares one per configuration in a
// process) are this file's own, so failing their workers touches no other file's calls.
const base: ListenOptions = {
  backend: 'silero-ort', modelPath: modelFile, tickMs: 11, threads: 1, shards: 2,
  echo: ConfigSchema.parse({}).echo, maxPendingSamples: 60 * 16000, respawn: { firstMs: 200 },
};

interface Tracked {
  s: ListenSession;
  frames: number;
  failed: string | null;
  failedAt: number;
}

function track(svc: ListenService): Tracked {
  const t = { frames: 0, failed: null, failedAt: 0 } as unknown as Tracked;
  t.s = svc.open({
    frame: () => t.frames++,
    failed: (m) => {
      t.failed = m;
      t.failedAt = performance.now();
    },
  });
  return t;
}

/** 20 ms of audio to every open session every 20 ms, as wires deliver it. */
function pump(sessions: Tracked[]): () => void {
  const frame = new Int16Array(320);
  const timer = setInterval(() => {
    for (const t of sessions) t.s.pushPcm16(frame);
  }, 20);
  return () => clearInterval(timer);
}

/**
 * Runs `body` while `sessions` are pumped (sessions it pushes onto the array are pumped too); then stops, closes every
 * session and gives up the hold on `svc`, whatever the body threw.
 */
async function pumping(svc: ListenService, sessions: Tracked[], body: () => Promise<void>): Promise<void> {
  const stop = pump(sessions);
  try {
    await body();
  } finally {
    stop();
    for (const t of sessions) t.s.close();
    await svc.close();
  }
}

async function failures(shard: string): Promise<number> {
  return (await metrics.listenWorkerFailures.get()).values.find((v) => v.labels.shard === shard)?.value ?? 0;
}

async function up(shard: string): Promise<number | undefined> {
  return (await metrics.listenWorkerUp.get()).values.find((v) => v.labels.shard === shard)?.value;
}

const faultsBefore = process.env.EARSHOT_TEST_FAULTS;
beforeAll(() => {
  // Read by each worker when it starts, replacements included.
  process.env.EARSHOT_TEST_FAULTS = '1';
});
afterAll(() => {
  if (faultsBefore === undefined) delete process.env.EARSHOT_TEST_FAULTS;
  else process.env.EARSHOT_TEST_FAULTS = faultsBefore;
});

describe('a listen worker that fails', () => {
  it('ends every session on its shard at once, leaves the other shard scoring, routes around it and is replaced', async () => {
    const svc = await ListenService.start(base);
    const all = [track(svc), track(svc), track(svc), track(svc)];
    const onFailed = all.filter((t) => t.s.shardIndex === 0);
    const onOther = all.filter((t) => t.s.shardIndex === 1);
    expect(onFailed.length).toBe(2);
    await pumping(svc, all, async () => {
      await until(() => all.every((t) => t.frames >= 5), 10_000, 'frames on every session');
      const before = await failures('0');
      const t0 = performance.now();
      svc.injectFault(0, 'tick');
      await until(() => onFailed.every((t) => t.failed !== null), 2000, 'every session of the failed shard told');
      // At once: the backlog cap (60 s of audio here) is nowhere near, and the tick in flight never answered.
      for (const t of onFailed) {
        expect(t.failed).toMatch(/test fault: a tick threw/);
        expect(t.failedAt - t0).toBeLessThan(1000);
        expect(t.s.closed).toBe(true);
        // A closed session takes nothing more and its close says nothing to the (reset) shard.
        expect(t.s.pushPcm16(new Int16Array(320))).toBe(0);
        t.s.close();
      }
      expect(onOther.every((t) => t.failed === null)).toBe(true);
      expect(svc.healthy).toBe(false);
      expect(svc.serving).toBe(1);
      expect(svc.abandoned).toBe(0);
      expect(await failures('0')).toBe(before + 1);
      expect(await up('0')).toBe(0);

      // The other shard goes on scoring its calls.
      const frames = onOther.map((t) => t.frames);
      await until(() => onOther.every((t, i) => t.frames >= frames[i] + 10), 3000, 'frames on the healthy shard');

      // New sessions go to the shard that serves, though it holds more calls.
      const meanwhile = track(svc);
      expect(meanwhile.s.shardIndex).toBe(1);
      all.push(meanwhile);

      // The replacement loads, and the shard, empty again, takes the next session and scores it.
      await until(() => svc.healthy, 20_000, 'the failed shard replaced');
      expect(await up('0')).toBe(1);
      const fresh = track(svc);
      expect(fresh.s.shardIndex).toBe(0);
      all.push(fresh);
      await until(() => fresh.frames >= 10 && meanwhile.frames >= 10, 5000, 'frames on the replaced shard');
      expect(fresh.failed).toBeNull();
    });
  });

  it('that stops answering ticks while its thread lives on is taken for failed after stuckMs, and replaced', async () => {
    const svc = await ListenService.start({ ...base, shards: 1, respawn: { firstMs: 200, stuckMs: 600 } });
    const a = track(svc);
    const all = [a];
    await pumping(svc, all, async () => {
      await until(() => a.frames >= 5, 10_000, 'frames');
      const framesAtHang = a.frames;
      const t0 = performance.now();
      svc.injectFault(0, 'hang');
      await until(() => a.failed !== null, 5000, 'the session of the silent worker told');
      expect(a.failed).toMatch(/has not answered a tick for \d+ ms/);
      // Not before stuckMs (the worker answered nothing meanwhile), and not long after it.
      expect(a.failedAt - t0).toBeGreaterThanOrEqual(600);
      expect(a.failedAt - t0).toBeLessThan(2500);
      expect(a.frames - framesAtHang).toBeLessThanOrEqual(2);
      await until(() => svc.healthy, 20_000, 'the silent worker replaced');
      const b = track(svc);
      all.push(b);
      await until(() => b.frames >= 10, 5000, 'frames on the replacement');
      expect(b.failed).toBeNull();
    });
  });

  it('that dies of an uncaught exception is handled the same way; while no shard serves, open() refuses clearly', async () => {
    const svc = await ListenService.start({ ...base, shards: 1 });
    const a = track(svc);
    const all = [a];
    await pumping(svc, all, async () => {
      await until(() => a.frames >= 5, 10_000, 'frames');
      svc.injectFault(0, 'crash');
      await until(() => a.failed !== null, 2000, 'the session told');
      expect(a.failed).toMatch(/test fault: the listen worker crashed/);
      expect(svc.serving).toBe(0);
      expect(() => svc.open({ frame: () => undefined })).toThrow(ListenUnavailable);
      expect(() => svc.open({ frame: () => undefined })).toThrow(/no listen worker is serving: all 1 failed and are being replaced/);
      await until(() => svc.healthy, 20_000, 'the worker replaced');
      const b = track(svc);
      all.push(b);
      await until(() => b.frames >= 10, 5000, 'frames from the replacement');
    });
  });

  it('whose replacement cannot load is given up on after the configured attempts', async () => {
    const { svc, dir } = await abandonedService();
    try {
      expect(svc.healthy).toBe(false);
      expect(() => svc.open({ frame: () => undefined })).toThrow(/all 1 failed and could not be replaced/);
    } finally {
      await svc.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** A one-shard service whose worker failed after its model file was removed: no replacement can load. */
async function abandonedService(): Promise<{ svc: ListenService; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'earshot-listen-'));
  const modelPath = join(dir, 'silero.onnx');
  copyFileSync(modelFile, modelPath);
  const svc = await ListenService.start({ ...base, modelPath, shards: 1, respawn: { firstMs: 20, maxMs: 40, attempts: 2 } });
  unlinkSync(modelPath);
  svc.injectFault(0, 'crash');
  await until(() => svc.abandoned === 1, 10_000, 'the shard given up on');
  return { svc, dir };
}

describe('through the gateway', () => {
  let gw: Gateway;
  let url: string;
  let http: string;
  const tone = (ms: number) => Int16Array.from({ length: (16000 * ms) / 1000 }, (_, i) => Math.round(3000 * Math.sin(i / 5)));

  beforeAll(async () => {
    ({ gw, url, http } = await startGateway({ asr: { model: '' }, vad: { shards: 2, tickMs: 11 } }));
  });
  afterAll(async () => {
    await gw?.stop(0);
  });

  async function started(id: string): Promise<TestCall> {
    const c = new TestCall(url);
    expect((await c.start({ callId: id, encoding: 'pcm16', sampleRate: 16000 })).type).toBe('ready');
    return c;
  }

  it('the call on a failed worker ends with listen_failed (1011), the call beside it completes, and readiness comes back', async () => {
    const lines: string[] = [];
    const spy = vi.spyOn(logDestination, 'write').mockImplementation((line: string) => {
      lines.push(line);
      return true;
    });
    try {
      const a = await started('shard-fail-a');
      const b = await started('shard-fail-b');
      // Which shard each call is on (Call keeps its session to itself).
      const shardOf = (id: string) => (gw.calls.get(id) as unknown as { listen: ListenSession }).listen.shardIndex;
      const shardA = shardOf('shard-fail-a');
      expect(shardOf('shard-fail-b')).not.toBe(shardA);
      const streamA = a.stream(tone(6000), 'pcm16', 16000);
      const streamB = b.stream(tone(3000), 'pcm16', 16000);
      await new Promise((r) => setTimeout(r, 500));
      const t0 = performance.now();
      gw.listen.injectFault(shardA, 'crash');

      const err = await a.waitFor('error', 2000);
      expect(performance.now() - t0).toBeLessThan(1000);
      expect(err.code).toBe('listen_failed');
      expect(err.message).toMatch(/listen worker serving this call failed/);
      expect((await a.waitFor('call_summary')).reason).toBe('listen_failed');
      expect((await a.closed).code).toBe(1011);
      await streamA;
      expect((await fetch(`${http}/readyz`)).status).toBe(503);
      expect((await fetch(`${http}/healthz`)).status).toBe(200);

      await streamB;
      const summary = await b.hangup();
      expect(summary.reason).toBe('hangup');
      // Every 32 ms frame of B's 3 s was scored, through the failure beside it.
      expect((summary.vadFrameMs as { n: number }).n).toBeGreaterThanOrEqual(85);
      expect(b.events('error')).toEqual([]);

      await until(async () => (await fetch(`${http}/readyz`)).status === 200, 20_000, '/readyz ready again');
      const logged = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(logged.find((l) => l.callId === 'shard-fail-a' && l.code === 'listen_failed')).toMatchObject({ level: 40, cause: expect.stringMatching(/crashed/) });
      expect(logged.find((l) => l.callId === 'shard-fail-b' && l.code === 'listen_failed')).toBeUndefined();
      expect(logged.filter((l) => l.mod === 'listen' && l.msg === 'listen worker failed: ending its calls')).toEqual([
        expect.objectContaining({ level: 50, shard: shardA, calls: 1, err: expect.stringMatching(/crashed/) }),
      ]);
    } finally {
      spy.mockRestore();
    }
  });

  it('a call starting while no listen worker serves is refused with listen_unavailable; one after the replacement completes', async () => {
    gw.listen.injectFault(0, 'crash');
    gw.listen.injectFault(1, 'crash');
    await until(() => gw.listen.serving === 0, 2000, 'both shards failed');
    const c = new TestCall(url);
    const first = await c.start({ callId: 'shard-fail-refused', encoding: 'pcm16', sampleRate: 16000 });
    expect(first).toMatchObject({ type: 'error', code: 'listen_unavailable', message: expect.stringMatching(/no listen worker is serving.*try again later/) });
    expect(await c.waitFor('rejected')).toMatchObject({ reason: 'listen_unavailable' });
    expect(await c.closed).toEqual({ code: 1013, reason: 'listen_unavailable' });
    expect(gw.calls.has('shard-fail-refused')).toBe(false);

    await until(() => gw.listen.healthy, 20_000, 'both shards replaced');
    const d = await started('shard-fail-after');
    await d.stream(tone(2000), 'pcm16', 16000);
    const summary = await d.hangup();
    expect((summary.vadFrameMs as { n: number }).n).toBeGreaterThanOrEqual(55);
  });

  it('/healthz answers 503 once a shard is given up on, so the orchestrator restarts the process', async () => {
    const { svc, dir } = await abandonedService();
    const real = gw.listen;
    // This gateway's service with a shard given up on in its place (a real one: its worker died and its model file
    // is gone); the default backoff would take two minutes to give up.
    gw.listen = svc;
    try {
      const res = await fetch(`${http}/healthz`);
      expect(res.status).toBe(503);
      expect(await res.json()).toEqual({ ok: false, error: 'listen_workers_lost', message: '1 of 1 listen workers failed and could not be replaced; restart the process' });
      const c = new TestCall(url);
      expect(await c.start({ callId: 'shard-fail-lost', encoding: 'pcm16', sampleRate: 16000 })).toMatchObject({ code: 'listen_unavailable', message: expect.stringMatching(/could not be replaced/) });
      await c.closed;
    } finally {
      gw.listen = real;
      await svc.close();
      rmSync(dir, { recursive: true, force: true });
    }
    expect((await fetch(`${http}/healthz`)).status).toBe(200);
  });
});
