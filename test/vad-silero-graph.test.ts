// The batched rewrite of Silero VAD v5 (gateway/listen/vad/sileroBatchedGraph.ts) against the model file itself:
// same probabilities on real recordings streamed as several calls in one batch, and the fallback when a model
// is not the graph the rewrite expects.
import { readFileSync } from 'node:fs';
import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { int16ToFloat } from '../gateway/audio/codec.js';
import { isResolved, resolveModel } from '../gateway/models.js';
import { batchedSileroGraph } from '../gateway/listen/vad/sileroBatchedGraph.js';
import { largestDifference, SileroOrt } from '../gateway/listen/vad/SileroOrt.js';
import { labels, wireAudio } from './helpers/corpus.js';

const silero = resolveModel('silero-vad-v5');
const ten = resolveModel('ten-vad');
if (!isResolved(silero) || !isResolved(ten)) throw new Error('VAD models missing');
const sileroPath = silero.files.model;
const options = { intraOpNumThreads: 1, graphOptimizationLevel: 'all' } as const;

/** Scores each recording frame by frame (64 samples of context, state carried), all recordings in one batch. */
async function scoreBatch(session: ort.InferenceSession, recordings: Float32Array[]): Promise<number[][]> {
  const B = recordings.length;
  const frames = Math.max(...recordings.map((r) => Math.floor(r.length / 512)));
  let state: Float32Array = new Float32Array(2 * B * 128);
  const probs: number[][] = recordings.map(() => []);
  for (let f = 0; f < frames; f++) {
    const input = new Float32Array(B * 576);
    recordings.forEach((r, b) => {
      const from = f * 512 - 64;
      for (let i = 0; i < 576; i++) input[b * 576 + i] = r[from + i] ?? 0;
    });
    const feeds: Record<string, ort.Tensor> = {
      input: new ort.Tensor('float32', input, [B, 576]),
      state: new ort.Tensor('float32', state, [2, B, 128]),
    };
    if (session.inputNames.includes('sr')) feeds.sr = new ort.Tensor('int64', BigInt64Array.from([16000n]), []);
    const out = await session.run(feeds);
    state = out.stateN.data as Float32Array;
    const p = out.output.data as Float32Array;
    recordings.forEach((r, b) => {
      if (f < Math.floor(r.length / 512)) probs[b].push(p[b]);
    });
  }
  return probs;
}

describe('Silero VAD v5, batched graph', () => {
  it('has no convolution and no sample-rate input left', () => {
    const m = onnxProto.onnx.ModelProto.decode(batchedSileroGraph(readFileSync(sileroPath)));
    expect(m.graph!.input!.map((i) => i.name)).toEqual(['input', 'state']);
    expect(m.graph!.node!.filter((n) => n.opType === 'Conv')).toHaveLength(0);
    expect(m.graph!.node!.filter((n) => n.opType === 'MatMul').length).toBeGreaterThanOrEqual(5);
  });

  it('scores real recordings, several calls per batch, as the original model does', async () => {
    const natural = labels().filter((l) => l.file.startsWith('natural/') && l.speechOnsetMs != null).slice(0, 4);
    expect(natural.length).toBe(4);
    const recordings = natural.map((l) => int16ToFloat(wireAudio(l.file).samples));
    const original = await ort.InferenceSession.create(sileroPath, options);
    const batched = await ort.InferenceSession.create(batchedSileroGraph(readFileSync(sileroPath)), options);
    const a = await scoreBatch(original, recordings);
    const b = await scoreBatch(batched, recordings);
    let gap = 0;
    a.forEach((pa, r) => pa.forEach((p, i) => (gap = Math.max(gap, Math.abs(p - b[r][i])))));
    expect(gap).toBeLessThan(1e-4);
    for (let r = 0; r < recordings.length; r++) {
      // The recordings hold speech and quiet, so the comparison covers both ends of the scale...
      expect(Math.max(...a[r])).toBeGreaterThan(0.8);
      expect(Math.min(...a[r])).toBeLessThan(0.2);
      // ...and the first speech frame is the same frame.
      expect(b[r].findIndex((p) => p >= 0.5)).toBe(a[r].findIndex((p) => p >= 0.5));
    }
    expect(await largestDifference(original, batched)).toBeLessThan(1e-4);
    await original.release();
    await batched.release();
  });

  it('loads the batched graph by default and the original on request', async () => {
    const batched = await SileroOrt.load(sileroPath);
    expect(batched.graph).toBe('batched');
    expect(batched.warning).toBeUndefined();
    const original = await SileroOrt.load(sileroPath, 1, 'original');
    expect(original.graph).toBe('original');
    // Both score a real frame the same.
    const audio = int16ToFloat(wireAudio(labels().find((l) => l.file.startsWith('natural/') && l.speechOnsetMs != null)!.file).samples);
    batched.open(1);
    original.open(1);
    const slots = Int32Array.of(1);
    for (let f = 0; f < 40; f++) {
      const frame = audio.slice(f * 512, (f + 1) * 512);
      const [pb] = await batched.score(slots, frame);
      const [po] = await original.score(slots, frame);
      expect(Math.abs(pb - po)).toBeLessThan(1e-4);
    }
  });

  it("runs the model's own 8 kHz branch: 256-sample frames, batched as the original, not the 16 kHz branch", async () => {
    const batched = await SileroOrt.load(sileroPath, 1, 'batched', 8000);
    expect(batched.graph).toBe('batched');
    expect(batched.warning).toBeUndefined();
    expect(batched.frame).toBe(256);
    const original = await SileroOrt.load(sileroPath, 1, 'original', 8000);
    const wide = await SileroOrt.load(sileroPath, 1, 'original');
    // An 8 kHz μ-law twin of a natural yes, fed at its wire rate.
    const twin = labels().find((l) => l.file.startsWith('natural/') && l.speechOnsetMs != null && l.twin8k)!;
    const audio = int16ToFloat(wireAudio(twin.twin8k as string).samples);
    const slots = Int32Array.of(1);
    [batched, original, wide].forEach((v) => v.open(1));
    let gap = 0;
    let branchGap = 0;
    let speech = 0;
    for (let f = 0; f < Math.floor(audio.length / 256); f++) {
      const frame = audio.slice(f * 256, (f + 1) * 256);
      const [pb] = await batched.score(slots, frame);
      const [po] = await original.score(slots, frame);
      // The same frames through the 16 kHz branch (wrong rate): if the rate were ignored, the two would agree.
      const [pw] = await wide.score(slots, Float32Array.from({ length: 512 }, (_, i) => frame[i >> 1]!));
      gap = Math.max(gap, Math.abs(pb - po));
      branchGap = Math.max(branchGap, Math.abs(po - pw));
      if (po >= 0.5) speech++;
    }
    expect(gap).toBeLessThan(1e-4);
    expect(speech).toBeGreaterThan(3);
    expect(branchGap).toBeGreaterThan(0.05);
  });

  it('refuses a model that is not Silero v5, and the backend then runs that file unchanged with a warning', async () => {
    expect(() => batchedSileroGraph(readFileSync(ten.files.model))).toThrow(/If on the input 'sr'/);
    const fallback = await SileroOrt.load(ten.files.model);
    expect(fallback.graph).toBe('original');
    expect(fallback.warning).toMatch(/batched graph unavailable: no top-level If/);
  });
});
