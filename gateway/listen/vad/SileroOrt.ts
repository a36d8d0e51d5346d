// Silero VAD v5 through onnxruntime-node, batched: every slot keeps its own [2,128] state and 64-sample context,
// gathered into one [B,576] input per step. By default the graph is first rewritten so that the batch becomes one
// matrix product per layer (`sileroBatchedGraph.ts`): ~12 µs per frame at batch 48 instead of ~40 on this machine.
// `rate` 8000 runs the model's own narrowband branch (256 new samples + 32 of context per 32 ms frame): Silero v5 was
// trained on 8 kHz audio too, and scores a short 8 kHz answer as speech where the same audio upsampled to 16 kHz, its
// 4–8 kHz band empty, scores far lower (bench/consent/vadrates.ts).
import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { batchedSileroGraph } from './sileroBatchedGraph.js';
import { VAD_FRAME, VAD_RATE, type VadModel } from './VadModel.js';

/** `batched`: the rewritten graph (checked against the original at load); `original`: the file as it is. */
export type SileroGraph = 'batched' | 'original';

const STATE = 128;
/** Samples of context the model prepends to each frame, per rate (its own export: 64 at 16 kHz, 32 at 8 kHz). */
const CONTEXTS: Record<SileroRate, number> = { 16000: 64, 8000: 32 };
export type SileroRate = 16000 | 8000;

interface SlotState {
  h: Float32Array; // [2][128] flattened
  ctx: Float32Array; // last `context` samples of the previous frame
}

export class SileroOrt implements VadModel {
  readonly name = 'silero-ort';
  private slots = new Map<number, SlotState>();
  /** Model inputs, reused from run to run (views of the first B rows are what runs). */
  private inputBuf = new Float32Array(0);
  private stateBuf = new Float32Array(0);
  private readonly states: SlotState[] = [];
  private readonly sr: ort.Tensor | null;
  readonly detail: string;
  readonly warning: string | undefined;
  /** Samples per frame (32 ms at `rate`) and of context. */
  readonly frame: number;
  private readonly context: number;

  private constructor(
    private readonly session: ort.InferenceSession,
    /** Which graph runs, and why when it is not the one asked for. */
    readonly graph: SileroGraph,
    readonly graphNote = '',
    readonly rate: SileroRate = VAD_RATE,
  ) {
    this.detail = `${graph} graph${rate === VAD_RATE ? '' : `, ${rate} Hz`}`;
    this.warning = graphNote || undefined;
    this.frame = (VAD_FRAME * rate) / VAD_RATE;
    this.context = CONTEXTS[rate];
    this.sr = session.inputNames.includes('sr') ? new ort.Tensor('int64', BigInt64Array.from([BigInt(rate)]), []) : null;
  }

  static async load(modelPath: string, threads = 1, graph: SileroGraph = 'batched', rate: SileroRate = VAD_RATE): Promise<SileroOrt> {
    const options: ort.InferenceSession.SessionOptions = {
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
    };
    const bytes = readFileSync(modelPath);
    const original = await ort.InferenceSession.create(bytes, options);
    if (graph === 'original') return new SileroOrt(original, 'original', '', rate);
    let why: string;
    try {
      const batched = await ort.InferenceSession.create(batchedSileroGraph(bytes, rate), options);
      const gap = await largestDifference(original, batched, 6, rate);
      if (gap <= AGREEMENT) {
        await original.release();
        return new SileroOrt(batched, 'batched', '', rate);
      }
      await batched.release();
      why = `batched graph disagrees with the original by ${gap.toExponential(2)}`;
    } catch (e) {
      why = `batched graph unavailable: ${(e as Error).message}`;
    }
    return new SileroOrt(original, 'original', why, rate);
  }

  open(slot: number): void {
    this.slots.set(slot, { h: new Float32Array(2 * STATE), ctx: new Float32Array(this.context) });
  }
  close(slot: number): void {
    this.slots.delete(slot);
  }
  reset(slot: number): void {
    const s = this.slots.get(slot);
    if (s) {
      s.h.fill(0);
      s.ctx.fill(0);
    }
  }

  async score(slots: Int32Array, frames: Float32Array): Promise<Float32Array> {
    const B = slots.length;
    const F = this.frame;
    const C = this.context;
    const W = C + F;
    if (this.inputBuf.length < B * W) {
      this.inputBuf = new Float32Array(B * W * 2);
      this.stateBuf = new Float32Array(2 * B * STATE * 2);
    }
    const input = this.inputBuf.subarray(0, B * W);
    const state = this.stateBuf.subarray(0, 2 * B * STATE);
    const states = this.states;
    states.length = 0;
    for (let r = 0; r < B; r++) {
      let s = this.slots.get(slots[r]);
      if (!s) {
        this.open(slots[r]);
        s = this.slots.get(slots[r])!;
      }
      states.push(s);
      input.set(s.ctx, r * W);
      input.set(frames.subarray(r * F, (r + 1) * F), r * W + C);
      // state layout [2, B, 128]
      state.set(s.h.subarray(0, STATE), r * STATE);
      state.set(s.h.subarray(STATE), (B + r) * STATE);
    }
    const feeds: Record<string, ort.Tensor> = {
      input: new ort.Tensor('float32', input, [B, W]),
      state: new ort.Tensor('float32', state, [2, B, STATE]),
    };
    if (this.sr) feeds.sr = this.sr;
    const out = await this.session.run(feeds);
    const probs = out.output.data as Float32Array;
    const next = out.stateN.data as Float32Array;
    for (let r = 0; r < B; r++) {
      const s = states[r];
      s.h.set(next.subarray(r * STATE, (r + 1) * STATE), 0);
      s.h.set(next.subarray((B + r) * STATE, (B + r + 1) * STATE), STATE);
      s.ctx.set(frames.subarray((r + 1) * F - C, (r + 1) * F));
    }
    return probs;
  }
}

/** Probabilities and states of the two graphs may differ by float rounding only (measured: ~1e-6). */
const AGREEMENT = 1e-4;

/**
 * Runs both graphs over the same few frames of a fixed test signal (a chirp over noise, three streams at different
 * levels, state carried from frame to frame) and returns the largest difference in any probability or state value.
 */
export async function largestDifference(a: ort.InferenceSession, b: ort.InferenceSession, frames = 6, rate: SileroRate = VAD_RATE): Promise<number> {
  const B = 3;
  const F = (VAD_FRAME * rate) / VAD_RATE;
  const W = CONTEXTS[rate] + F;
  let seed = 12345;
  const noise = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32 - 0.5) * 0.02;
  let sa: Float32Array = new Float32Array(2 * B * STATE);
  let sb: Float32Array = new Float32Array(2 * B * STATE);
  const sr = new ort.Tensor('int64', BigInt64Array.from([BigInt(rate)]), []);
  const feeds = (s: ort.InferenceSession, input: Float32Array, state: Float32Array) => {
    const f: Record<string, ort.Tensor> = { input: new ort.Tensor('float32', input, [B, W]), state: new ort.Tensor('float32', state, [2, B, STATE]) };
    if (s.inputNames.includes('sr')) f.sr = sr;
    return f;
  };
  let gap = 0;
  for (let f = 0; f < frames; f++) {
    const input = new Float32Array(B * W);
    for (let r = 0; r < B; r++) {
      for (let i = 0; i < W; i++) {
        const t = (f * F + i) / rate;
        input[r * W + i] = (0.05 + 0.3 * r) * Math.sin(2 * Math.PI * (150 + 400 * t) * t * (1 + r)) + noise();
      }
    }
    const oa = await a.run(feeds(a, input, sa));
    const ob = await b.run(feeds(b, input, sb));
    const pa = oa.output.data as Float32Array;
    const pb = ob.output.data as Float32Array;
    sa = oa.stateN.data as Float32Array;
    sb = ob.stateN.data as Float32Array;
    for (let i = 0; i < pa.length; i++) gap = Math.max(gap, Math.abs(pa[i] - pb[i]));
    for (let i = 0; i < sa.length; i++) gap = Math.max(gap, Math.abs(sa[i] - sb[i]));
  }
  return gap;
}
