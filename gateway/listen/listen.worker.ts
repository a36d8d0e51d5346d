// A listen shard: the inbound DSP of a share of the calls (echo cancellation, VAD framing) and the VAD model that
// scores them. The main thread sends one message per scheduler tick holding every op of this shard's calls in
// order; the shard applies them, then scores every completed frame in as few model runs as the recurrent state
// allows (one run per frame depth) and answers with one message. Keeping this off the main thread leaves the
// event loop to sockets and prompt pacing.
import { readFileSync } from 'node:fs';
import { parentPort, threadId, workerData } from 'node:worker_threads';
import { recordStallsFromEnv } from '../ops/stallRecorder.js';
import type { EchoConfig } from '../config.js';
import type { EchoPath } from './EchoCanceller.js';
import { InboundAudio, type EchoEvent, type PendingFrame } from './InboundAudio.js';
import { FLAG_NARROW_VAD, FLAG_RESIDUAL, FLAG_TRACE, FRAME_WIDTH, NARROW_RATE, NARROW_WIDTH, Op, OP_WIDTH, RESIDUAL_WIDTH, TRACE_WIDTH, type ListenReply, type ListenRequest, type ListenTestFault } from './listenProtocol.js';
import { NearEndModel } from './nearEnd/NearEndModel.js';
import { InterruptionModel } from './nearEnd/InterruptionModel.js';
import type { SileroGraph } from './vad/SileroOrt.js';
import { VAD_FRAME, VAD_RATE, type VadModel } from './vad/VadModel.js';
import { BatchScorer, type ScoreWork } from './vad/BatchScorer.js';

const { backend, modelPath, threads, graph, echo, nearEnd, interruption, rejectDtmf, narrowVad } = workerData as {
  backend: string;
  modelPath: string;
  threads: number;
  graph: SileroGraph;
  echo: EchoConfig;
  nearEnd: string | null;
  /** Weights of the interruption classifier (bargeIn.interruption); scored in the near-end slot in its place. */
  interruption: string | null;
  rejectDtmf: boolean;
  /** Load the model a second time in its 8 kHz mode, for calls that ask for it (FLAG_NARROW_VAD). */
  narrowVad: boolean;
};
/** The near-end frame classifier (bargeIn.nearEnd), loaded once for the shard's calls. */
const nearEndModel = nearEnd ? NearEndModel.load(nearEnd) : null;
/** The interruption classifier (bargeIn.interruption), loaded once for the shard's calls. */
const interruptionModel = interruption ? InterruptionModel.load(interruption) : null;
const port = parentPort!;
// Bench only (EARSHOT_STALL_LOG): this worker's long batches and collections, timestamped for the soak.
recordStallsFromEnv(`listen-${threadId}`, process.env, 10);

/** Test-only fault injection (listenProtocol.ts, ListenTestFault): never set outside tests. */
const testFaults = process.env.EARSHOT_TEST_FAULTS === '1';
let throwNextTick = false;
let hung = false;

function injectFault(kind: ListenTestFault['kind']): void {
  if (kind === 'tick') throwNextTick = true;
  else if (kind === 'hang') hung = true;
  else
    setImmediate(() => {
      throw new Error('test fault: the listen worker crashed');
    });
}

/** Silero in its own 8 kHz mode, scoring the wire-rate residual of calls with FLAG_NARROW_VAD (consent windows). */
let narrowModel: VadModel | null = null;

async function loadNarrow(): Promise<void> {
  // Only Silero has an 8 kHz mode; with another backend the flag is ignored and consent keeps the shared VAD's cuts.
  if (!narrowVad || backend !== 'silero-ort') return;
  narrowModel = await (await import('./vad/SileroOrt.js')).SileroOrt.load(modelPath, threads, graph, NARROW_RATE);
}

async function load(): Promise<VadModel> {
  // Each native runtime is loaded only by the thread that uses it.
  if (backend === 'silero-ort') return (await import('./vad/SileroOrt.js')).SileroOrt.load(modelPath, threads, graph);
  if (backend === 'sherpa-silero' || backend === 'sherpa-ten') {
    return new (await import('./vad/SherpaVad.js')).SherpaVad(backend, modelPath, threads);
  }
  throw new Error(`unknown VAD backend ${backend}`);
}

const calls = new Map<number, InboundAudio>();
const NO_FRAMES: readonly PendingFrame[] = [];

const wide = new BatchScorer(VAD_FRAME);
const narrow = new BatchScorer(VAD_FRAME / (VAD_RATE / NARROW_RATE));
/** The main thread's last `frames`, handed back for this tick's answer. */
let spareFrames: Float64Array | null = null;

const CLK_TCK_MS = 10; // USER_HZ is 100 on every Linux Node supports

let cpuReadAt = -Infinity;
let cpuMs = -1;

/** This thread's CPU time from /proc, re-read at most twice a second (the read itself showed up in profiles). */
function threadCpuMs(): number {
  const now = performance.now();
  if (now - cpuReadAt < 500) return cpuMs;
  cpuReadAt = now;
  try {
    const stat = readFileSync('/proc/thread-self/stat', 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    cpuMs = (Number(f[11]) + Number(f[12])) * CLK_TCK_MS;
  } catch {
    cpuMs = -1;
  }
  return cpuMs;
}

Promise.all([load(), loadNarrow()]).then(
  ([model]) => {
    port.postMessage({ op: 'ready', name: model.name, detail: model.detail ?? '', warning: model.warning } satisfies ListenReply);
    // Strictly in order: a call's frames must be scored in sequence, and a tick's ops in the order they were made.
    let chain = Promise.resolve();
    port.on('message', (req: ListenRequest | ListenTestFault) => {
      if (req.op === 'fault') {
        if (testFaults) injectFault(req.kind);
        return;
      }
      if (hung) return;
      chain = chain.then(() => (throwNextTick ? Promise.reject(new Error('test fault: a tick threw')) : tick(model, req))).catch((e: Error) => {
        port.postMessage({ op: 'failed', message: e.message } satisfies ListenReply);
      });
    });
  },
  (e: Error) => port.postMessage({ op: 'failed', message: e.message } satisfies ListenReply),
);

function apply(model: VadModel, ops: Float64Array, samples: Float32Array): void {
  for (let o = 0; o < ops.length; o += OP_WIDTH) {
    const slot = ops[o + 1];
    const a = ops[o + 2];
    const b = ops[o + 3];
    const c = ops[o + 4];
    switch (ops[o]) {
      case Op.open:
        calls.set(slot, new InboundAudio(echo, (a & FLAG_RESIDUAL) !== 0, (a & FLAG_TRACE) !== 0, b === 8000 ? 8000 : 16000, nearEndModel, false, interruptionModel));
        model.open(slot);
        break;
      case Op.close:
        calls.delete(slot);
        model.close(slot);
        narrowModel?.close(slot);
        break;
      case Op.audio:
        calls.get(slot)?.push(samples.subarray(a, a + b));
        break;
      case Op.audioNarrow:
        // Cancelled at 8 kHz; the call upsamples its residual for the VAD (InboundAudio).
        calls.get(slot)?.pushNarrow(samples.subarray(a, a + b));
        break;
      case Op.ref:
        // The canceller copies what it keeps: a view of the request is enough (no typed array per prompt frame).
        calls.get(slot)?.addReference(Math.floor(c / 2), samples.subarray(a, a + b), (c % 2) as EchoPath);
        break;
      case Op.truncate:
        calls.get(slot)?.truncateReference(a);
        break;
      case Op.recheck:
        calls.get(slot)?.recheck();
        break;
      case Op.flags: {
        const call = calls.get(slot);
        if (call) {
          call.wantsResidual = (a & FLAG_RESIDUAL) !== 0;
          call.trace = (a & FLAG_TRACE) !== 0;
          const on = narrowModel !== null && call.rate === NARROW_RATE && (a & FLAG_NARROW_VAD) !== 0;
          // Each time it is asked for (a consent window), from a fresh state: the 8 kHz model runs only then.
          if (on && !call.narrowVad) narrowModel!.open(slot);
          else if (!on && call.narrowVad) narrowModel!.close(slot);
          call.narrowVad = on;
        }
        break;
      }
    }
  }
}

async function tick(model: VadModel, req: ListenRequest): Promise<void> {
  const t0 = performance.now();
  if (req.recycle) spareFrames = req.recycle;
  apply(model, req.ops, req.samples);
  // `base`: where this call's frames' probabilities start in `probs` (one array per tick, not one per call).
  const work: (ScoreWork<PendingFrame> & { call: InboundAudio })[] = [];
  const narrowWork: (ScoreWork<PendingFrame> & { call: InboundAudio })[] = [];
  const events: { slot: number; ev: EchoEvent }[] = [];
  const residualPieces: { slot: number; start: number; samples: Float32Array }[] = [];
  let total = 0;
  let narrowTotal = 0;
  let traced = 0;
  for (const [slot, call] of calls) {
    const frames = call.takeFrames();
    if (frames.length) {
      work.push({ slot, call, frames, base: total });
      total += frames.length;
      if (call.trace) traced += frames.length;
      // Only while the flag is still on (a model state exists for the call); frames filled while it was off carry no
      // 8 kHz twin (the flag acts from a frame's start).
      const twins = call.narrowVad ? frames.filter((f) => f.narrow) : NO_FRAMES;
      if (twins.length) {
        narrowWork.push({ slot, call, frames: twins, base: narrowTotal });
        narrowTotal += twins.length;
      }
    }
    for (const ev of call.takeEvents()) events.push({ slot, ev });
    if (call.wantsResidual) for (const r of call.takeResidual()) residualPieces.push({ slot, ...r });
  }
  const t1 = performance.now();
  const probs = await wide.score(model, work, total, (f) => f.samples);
  let runs = wide.runs;
  const narrowProbs = narrowTotal ? await narrow.score(narrowModel!, narrowWork, narrowTotal, (f) => f.narrow!) : null;
  runs += narrowTotal ? narrow.runs : 0;
  const t2 = performance.now();
  const need = total * FRAME_WIDTH;
  const frames = spareFrames && spareFrames.buffer.byteLength >= need * 8 ? new Float64Array(spareFrames.buffer, 0, need) : new Float64Array(need);
  spareFrames = null;
  const traces = traced ? new Float64Array(traced * TRACE_WIDTH) : null;
  let k = 0;
  let tk = 0;
  work.forEach((w) => {
    w.frames.forEach((f, j) => {
      // A touch-tone key is not the callee speaking, however the VAD scored it (vad.rejectDtmf).
      const prob = rejectDtmf ? w.call.keys.prob(f.index, probs[w.base + j], f.samples, VAD_RATE) : probs[w.base + j];
      frames[k] = w.slot;
      frames[k + 1] = f.index;
      frames[k + 2] = prob;
      const echoFlag = w.call.isEcho(f, prob);
      frames[k + 3] = echoFlag ? 1 : 0;
      frames[k + 4] = w.call.nearEnd(f, prob, echoFlag);
      frames[k + 5] = w.call.overBackground(f, prob);
      k += FRAME_WIDTH;
      if (traces && f.trace) {
        traces.set([w.slot, f.index, f.trace.res, f.trace.exp, f.trace.ref, f.trace.locked ? 1 : 0], tk);
        tk += TRACE_WIDTH;
      }
    });
  });
  let narrowFrames: Float64Array | null = null;
  if (narrowProbs) {
    narrowFrames = new Float64Array(narrowTotal * NARROW_WIDTH);
    const out = narrowFrames;
    let n = 0;
    for (const w of narrowWork) {
      for (let j = 0; j < w.frames.length; j++, n += NARROW_WIDTH) {
        const f = w.frames[j]!;
        const prob = rejectDtmf ? w.call.narrowKeys.prob(f.index, narrowProbs[w.base + j], f.narrow!, NARROW_RATE) : narrowProbs[w.base + j];
        // Written in place: a frame's four figures as an array literal per frame (and a closure per call) were
        // garbage the listen worker made on every tick of a consent window.
        out[n] = w.slot;
        out[n + 1] = f.index;
        out[n + 2] = prob;
        out[n + 3] = w.call.isEcho(f, prob) ? 1 : 0;
      }
    }
  }
  let residual: Float32Array | null = null;
  let residualIndex: Float64Array | null = null;
  if (residualPieces.length) {
    residual = new Float32Array(residualPieces.reduce((n, r) => n + r.samples.length, 0));
    residualIndex = new Float64Array(residualPieces.length * RESIDUAL_WIDTH);
    let off = 0;
    residualPieces.forEach((r, i) => {
      residual!.set(r.samples, off);
      residualIndex!.set([r.slot, r.start, off, r.samples.length], i * RESIDUAL_WIDTH);
      off += r.samples.length;
    });
  }
  const transfer: ArrayBuffer[] = [frames.buffer as ArrayBuffer, req.ops.buffer as ArrayBuffer, req.samples.buffer as ArrayBuffer];
  if (traces) transfer.push(traces.buffer as ArrayBuffer);
  if (narrowFrames) transfer.push(narrowFrames.buffer as ArrayBuffer);
  if (residual) transfer.push(residual.buffer as ArrayBuffer, residualIndex!.buffer as ArrayBuffer);
  port.postMessage(
    {
      op: 'ticked',
      id: req.id,
      returned: { ops: req.ops, samples: req.samples },
      frames,
      narrow: narrowFrames,
      traces,
      residual,
      residualIndex,
      events,
      runs,
      echoMs: t1 - t0,
      inferMs: t2 - t1,
      cpuMs: threadCpuMs(),
    } satisfies ListenReply,
    transfer,
  );
}
