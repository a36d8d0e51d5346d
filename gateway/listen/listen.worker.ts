// A listen shard: the inbound DSP of a share of the calls (echo cancellation, VAD framing) and the VAD model that
// scores them. The main thread sends one message per scheduler tick holding every op of this shard's calls in
// order; the shard applies them, then scores every completed frame in as few model runs as the recurrent state
// allows (one run per frame depth) and answers with one message. Keeping this off the main thread leaves the
// event loop to sockets and prompt pacing.
import { readFileSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import type { EchoConfig } from '../config.js';
import type { EchoPath } from './EchoCanceller.js';
import { InboundAudio, type EchoEvent, type PendingFrame } from './InboundAudio.js';
import { FLAG_RESIDUAL, FLAG_TRACE, FRAME_WIDTH, Op, OP_WIDTH, RESIDUAL_WIDTH, TRACE_WIDTH, type ListenReply, type ListenRequest } from './listenProtocol.js';
import { NearEndModel } from './nearEnd/NearEndModel.js';
import type { SileroGraph } from './vad/SileroOrt.js';
import { VAD_FRAME, VAD_RATE, type VadModel } from './vad/VadModel.js';
import { withoutDtmf } from './DtmfTone.js';

const { backend, modelPath, threads, graph, echo, nearEnd, rejectDtmf } = workerData as {
  backend: string;
  modelPath: string;
  threads: number;
  graph: SileroGraph;
  echo: EchoConfig;
  nearEnd: string | null;
  rejectDtmf: boolean;
};
/** The near-end frame classifier (bargeIn.nearEnd), loaded once for the shard's calls. */
const nearEndModel = nearEnd ? NearEndModel.load(nearEnd) : null;
const port = parentPort!;

async function load(): Promise<VadModel> {
  // Each native runtime is loaded only by the thread that uses it.
  if (backend === 'silero-ort') return (await import('./vad/SileroOrt.js')).SileroOrt.load(modelPath, threads, graph);
  if (backend === 'sherpa-silero' || backend === 'sherpa-ten') {
    return new (await import('./vad/SherpaVad.js')).SherpaVad(backend, modelPath, threads);
  }
  throw new Error(`unknown VAD backend ${backend}`);
}

const calls = new Map<number, InboundAudio>();

/** Per-tick working buffers, grown as needed and reused (a fresh typed array costs an off-heap allocation). */
let probsBuf = new Float32Array(256);
let slotsBuf = new Int32Array(256);
let batchBuf = new Float32Array(256 * VAD_FRAME);
/** The main thread's last `frames`, handed back for this tick's answer. */
let spareFrames: Float64Array | null = null;

function ensure(n: number): void {
  if (probsBuf.length >= n) return;
  const size = Math.max(n, probsBuf.length * 2);
  probsBuf = new Float32Array(size);
  slotsBuf = new Int32Array(size);
  batchBuf = new Float32Array(size * VAD_FRAME);
}
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

load().then(
  (model) => {
    port.postMessage({ op: 'ready', name: model.name, detail: model.detail ?? '', warning: model.warning } satisfies ListenReply);
    // Strictly in order: a call's frames must be scored in sequence, and a tick's ops in the order they were made.
    let chain = Promise.resolve();
    port.on('message', (req: ListenRequest) => {
      chain = chain.then(() => tick(model, req)).catch((e: Error) => {
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
        calls.set(slot, new InboundAudio(echo, (a & FLAG_RESIDUAL) !== 0, (a & FLAG_TRACE) !== 0, b === 8000 ? 8000 : 16000, nearEndModel));
        model.open(slot);
        break;
      case Op.close:
        calls.delete(slot);
        model.close(slot);
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
  const work: { slot: number; call: InboundAudio; frames: readonly PendingFrame[]; base: number }[] = [];
  const events: { slot: number; ev: EchoEvent }[] = [];
  const residualPieces: { slot: number; start: number; samples: Float32Array }[] = [];
  let total = 0;
  let traced = 0;
  let depth = 0;
  for (const [slot, call] of calls) {
    const frames = call.takeFrames();
    if (frames.length) {
      work.push({ slot, call, frames, base: total });
      total += frames.length;
      if (call.trace) traced += frames.length;
      if (frames.length > depth) depth = frames.length;
    }
    for (const ev of call.takeEvents()) events.push({ slot, ev });
    if (call.wantsResidual) for (const r of call.takeResidual()) residualPieces.push({ slot, ...r });
  }
  const t1 = performance.now();
  ensure(total);
  const probs = probsBuf;
  let runs = 0;
  const rows: number[] = [];
  for (let step = 0; step < depth; step++) {
    rows.length = 0;
    for (let i = 0; i < work.length; i++) if (work[i].frames.length > step) rows.push(i);
    const slots = slotsBuf.subarray(0, rows.length);
    const batch = batchBuf.subarray(0, rows.length * VAD_FRAME);
    for (let r = 0; r < rows.length; r++) {
      const w = work[rows[r]];
      const f = w.frames[step];
      if (f.resetBefore) model.reset(w.slot);
      slots[r] = w.slot;
      batch.set(f.samples, r * VAD_FRAME);
    }
    const p = await model.score(slots, batch);
    for (let r = 0; r < rows.length; r++) probs[work[rows[r]].base + step] = p[r];
    runs++;
  }
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
      const prob = rejectDtmf ? withoutDtmf(probs[w.base + j], f.samples, VAD_RATE) : probs[w.base + j];
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
  if (residual) transfer.push(residual.buffer as ArrayBuffer, residualIndex!.buffer as ArrayBuffer);
  port.postMessage(
    {
      op: 'ticked',
      id: req.id,
      returned: { ops: req.ops, samples: req.samples },
      frames,
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
