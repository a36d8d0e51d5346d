// N call slots, each looping scenarios back to back until the step's duration is up, so N calls are in flight
// at any moment. Slot starts are spread out so the step does not begin with N simultaneous handshakes.
// Above ~100 calls one Node event loop sending 50 frames/s per call (and parsing every prompt frame coming back)
// starts to lag by tens of ms, which would show up as gateway latency. `genWorkers` > 1 splits the slots over
// that many forked generator processes (bench/genWorker.ts); each runs its slots with its own pacer and event
// loop and sends its call records back. Records keep their own process's clock: every metric is a difference of
// two times within one record, so mixing processes is safe.
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { Pacer } from './pacer.js';
import { runCall } from './callRunner.js';
import type { CallRecord } from './record.js';
import type { PromptSource, Scenario, WireAudio } from './scenarios.js';
import type { Wire } from './wires/types.js';

export interface Progress {
  active: number;
  done: number;
  failed: number;
  elapsedMs: number;
}

export interface StepParams {
  calls: number;
  durationMs: number;
  staggerMs: number;
  wire: Wire;
  url: string;
  token: string | null;
  audio: WireAudio;
  /** Scenario lists per kind; slots alternate kinds so the mix does not follow corpus sizes. */
  byKind: Scenario[][];
  sendPrompts: boolean;
  label: string;
  onProgress?: (p: Progress) => void;
  /** Generator processes; 1 = run the slots in this process. */
  genWorkers?: number;
  /** How a worker rebuilds `byKind` and `wire` (they are not sent over IPC). Required when genWorkers > 1. */
  workerSetup?: WorkerSetup;
}

/** Everything a generator worker needs to load the same scenarios in the same order as the parent. */
export interface WorkerSetup {
  scenariosDir: string;
  mix: ('bargein' | 'consent')[];
  rate: 8000 | 16000;
  consentPrompt: string | null;
  prompts: PromptSource;
  seed: number;
  wire: string;
}

export interface LagStats {
  p50: number | null;
  p99: number | null;
  max: number | null;
}

export interface StepOutcome {
  records: CallRecord[];
  generatorLatenessMs: number[];
  startedAt: number;
  endedAt: number;
  /** Event-loop lag of the worker processes (worst p99 / max over workers); null when run in-process. */
  workerLag: LagStats | null;
  /** CPU ms the generator used during the step (this process, plus workers). */
  generatorCpuMs: number;
  genWorkers: number;
}

export const LOOP_RESOLUTION_MS = 10;
export function lagStats(h: ReturnType<typeof monitorEventLoopDelay>): LagStats {
  // The histogram records whole timer intervals; subtract the 10 ms resolution to get the delay itself.
  const ms = (ns: number) => Math.max(0, Math.round(ns / 1e4 - LOOP_RESOLUTION_MS * 100) / 100);
  return h.count ? { p50: ms(h.percentile(50)), p99: ms(h.percentile(99)), max: ms(h.max) } : { p50: null, p99: null, max: null };
}

/** Runs the slots `slots` (indices out of `calls`) in this process. */
/**
 * Unique to this generator process: generators driving gateways that share a call directory (bench:fleet runs one
 * per instance) must never start two calls with the same id, or the second is refused `duplicate_call`.
 */
const GENERATOR_ID = randomBytes(3).toString('hex');

export async function runSlots(
  p: Omit<StepParams, 'onProgress' | 'genWorkers' | 'workerSetup'> & { slots: number[]; deadline: number; stepStart: number },
  progress: { active: number; done: number; failed: number },
): Promise<{ records: CallRecord[]; lateness: number[] }> {
  const pacer = new Pacer();
  const records: CallRecord[] = [];
  const slot = async (i: number) => {
    const startAt = p.stepStart + (p.staggerMs * i) / Math.max(1, p.calls);
    await new Promise((r) => setTimeout(r, Math.max(0, startAt - performance.now())));
    for (let j = 0; performance.now() < p.deadline; j++) {
      const list = p.byKind[(i + j) % p.byKind.length];
      const scenario = list[(i * 7 + Math.floor(j / p.byKind.length)) % list.length];
      progress.active++;
      const rec = await runCall({
        wire: p.wire, url: p.url, token: p.token, scenario, audio: p.audio, pacer, sendPrompts: p.sendPrompts,
        callId: `bench-${GENERATOR_ID}-${p.label}-${i}-${j}`,
      });
      progress.active--;
      progress.done++;
      records.push(rec);
      if (!rec.ok) {
        progress.failed++;
        // A refused connection must not turn into a tight reconnect loop.
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  };
  await Promise.all(p.slots.map((i) => slot(i)));
  pacer.stop();
  return { records, lateness: pacer.lateness };
}

export async function runStep(p: StepParams): Promise<StepOutcome> {
  const W = Math.max(1, Math.min(p.genWorkers ?? 1, p.calls));
  // Workers first load their scenarios; the step (and its CPU window) starts when all of them are ready.
  const workers = W === 1 ? [] : await Promise.all(Array.from({ length: W }, (_, w) => spawnWorker(p, w)));
  const startedAt = performance.now();
  const cpu0 = process.cpuUsage();
  const progress = { active: 0, done: 0, failed: 0 };
  const progressTimer = setInterval(() => {
    const all = W === 1 ? progress : workers.reduce((a, w) => ({ active: a.active + w.progress.active, done: a.done + w.progress.done, failed: a.failed + w.progress.failed }), { active: 0, done: 0, failed: 0 });
    p.onProgress?.({ ...all, elapsedMs: performance.now() - startedAt });
  }, 500);
  let records: CallRecord[] = [];
  let lateness: number[] = [];
  let workerLag: LagStats | null = null;
  let workerCpuMs = 0;
  try {
    if (W === 1) {
      ({ records, lateness } = await runSlots({ ...p, slots: Array.from({ length: p.calls }, (_, i) => i), deadline: startedAt + p.durationMs, stepStart: startedAt }, progress));
    } else {
      const outs = await Promise.all(workers.map((w, k) => w.run(Array.from({ length: p.calls }, (_, i) => i).filter((i) => i % W === k))));
      for (const o of outs) {
        records = records.concat(o.records);
        lateness = lateness.concat(o.lateness);
        workerCpuMs += o.cpuMs;
      }
      const worst = (k: keyof LagStats) => outs.reduce<number | null>((a, o) => (o.lag[k] === null ? a : Math.max(a ?? 0, o.lag[k]!)), null);
      workerLag = { p50: worst('p50'), p99: worst('p99'), max: worst('max') };
    }
  } finally {
    clearInterval(progressTimer);
    for (const w of workers) w.kill();
  }
  const cpu = process.cpuUsage(cpu0);
  return {
    records, generatorLatenessMs: lateness, startedAt, endedAt: performance.now(), workerLag,
    generatorCpuMs: Math.round((cpu.user + cpu.system) / 1000 + workerCpuMs), genWorkers: W,
  };
}

interface WorkerResult {
  records: CallRecord[];
  lateness: number[];
  lag: LagStats;
  cpuMs: number;
}

interface WorkerHandle {
  progress: { active: number; done: number; failed: number };
  run(slots: number[]): Promise<WorkerResult>;
  kill(): void;
}

/** Forks one generator process and resolves once it has loaded its scenarios. */
function spawnWorker(p: StepParams, index: number): Promise<WorkerHandle> {
  const setup = p.workerSetup;
  if (!setup) return Promise.reject(new Error('genWorkers > 1 needs workerSetup'));
  return new Promise((resolveReady, rejectReady) => {
    const child = fork(fileURLToPath(new URL('./genWorker.ts', import.meta.url)), [], {
      // BENCH_GEN_NODE_ARGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/gen") profiles the generator processes themselves.
      execArgv: ['--import', 'tsx', ...(process.env.BENCH_GEN_NODE_ARGS?.split(' ').filter(Boolean) ?? [])],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      serialization: 'advanced',
    });
    let result: WorkerResult | null = null;
    let onResult: ((r: WorkerResult) => void) | null = null;
    let onFail: ((e: Error) => void) = rejectReady;
    const handle: WorkerHandle = {
      progress: { active: 0, done: 0, failed: 0 },
      run(slots) {
        return new Promise((res, rej) => {
          onResult = res;
          onFail = rej;
          child.send({ type: 'run', setup, slots, calls: p.calls, durationMs: p.durationMs, staggerMs: p.staggerMs, url: p.url, token: p.token, sendPrompts: p.sendPrompts, label: `${p.label}w${index}` });
        });
      },
      kill() {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      },
    };
    child.on('message', (m: { type: string; [k: string]: unknown }) => {
      if (m.type === 'ready') resolveReady(handle);
      else if (m.type === 'progress') handle.progress = m as unknown as WorkerHandle['progress'];
      else if (m.type === 'result') {
        result = m as unknown as WorkerResult;
        onResult?.(result);
      }
    });
    child.on('error', (e) => onFail(e));
    child.on('exit', (code) => {
      if (!result) onFail(new Error(`generator worker ${index} exited with ${code} before sending its records`));
    });
    child.send({ type: 'load', setup, kinds: p.byKind.map((l) => l[0]?.kind).filter(Boolean) });
  });
}
