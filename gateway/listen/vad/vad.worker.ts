// The VAD inference thread. The main thread sends one message per scheduler tick holding every call's ready
// frames; this thread scores them in as few model runs as the recurrent state allows (one run per frame depth).
import { parentPort, workerData } from 'node:worker_threads';
import { VAD_FRAME, type VadModel } from './VadModel.js';

export type VadScoreRequest = { op: 'score'; id: number; slots: Int32Array; counts: Int32Array; frames: Float32Array };
export type VadRequest = { op: 'open' | 'close' | 'reset'; slot: number } | VadScoreRequest;
export type VadReply =
  | { op: 'ready'; name: string }
  | { op: 'failed'; message: string }
  | { op: 'scored'; id: number; probs: Float32Array; runs: number; computeMs: number };

const { backend, modelPath, threads } = workerData as { backend: string; modelPath: string; threads: number };
const port = parentPort!;

// Backends are imported lazily: each native runtime is loaded only by the thread that uses it.
async function load(): Promise<VadModel> {
  if (backend === 'silero-ort') return (await import('./SileroOrt.js')).SileroOrt.load(modelPath, threads);
  if (backend === 'sherpa-silero' || backend === 'sherpa-ten') {
    return new (await import('./SherpaVad.js')).SherpaVad(backend, modelPath, threads);
  }
  throw new Error(`unknown VAD backend ${backend}`);
}

load().then(
  (model) => {
    port.postMessage({ op: 'ready', name: model.name } satisfies VadReply);
    // Requests are handled strictly in order: a slot's frames must be scored in sequence.
    let chain = Promise.resolve();
    port.on('message', (req: VadRequest) => {
      chain = chain.then(() => handle(model, req)).catch((e: Error) => {
        port.postMessage({ op: 'failed', message: e.message } satisfies VadReply);
      });
    });
  },
  (e: Error) => port.postMessage({ op: 'failed', message: e.message } satisfies VadReply),
);

async function handle(model: VadModel, req: VadRequest): Promise<void> {
  if (req.op === 'score') return score(model, req);
  if (req.op === 'open') return model.open(req.slot);
  if (req.op === 'close') return model.close(req.slot);
  return model.reset(req.slot);
}

async function score(model: VadModel, req: VadScoreRequest): Promise<void> {
  const t0 = performance.now();
  const { slots, counts, frames } = req;
  // offsets[i]: where slot i's frames start in `frames`; probs come back in the same layout.
  const offsets = new Int32Array(slots.length);
  let total = 0;
  let depth = 0;
  for (let i = 0; i < slots.length; i++) {
    offsets[i] = total;
    total += counts[i];
    if (counts[i] > depth) depth = counts[i];
  }
  const probs = new Float32Array(total);
  let runs = 0;
  for (let step = 0; step < depth; step++) {
    const rows: number[] = [];
    for (let i = 0; i < slots.length; i++) if (counts[i] > step) rows.push(i);
    const batchSlots = new Int32Array(rows.length);
    const batch = new Float32Array(rows.length * VAD_FRAME);
    rows.forEach((i, r) => {
      batchSlots[r] = slots[i];
      const f = offsets[i] + step;
      batch.set(frames.subarray(f * VAD_FRAME, (f + 1) * VAD_FRAME), r * VAD_FRAME);
    });
    const p = await model.score(batchSlots, batch);
    rows.forEach((i, r) => (probs[offsets[i] + step] = p[r]));
    runs++;
  }
  port.postMessage({ op: 'scored', id: req.id, probs, runs, computeMs: performance.now() - t0 } satisfies VadReply, [
    probs.buffer,
  ]);
}
