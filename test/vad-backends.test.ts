// Every VAD backend selectable by configuration runs the real model on a real scenario, in listen workers: the
// batched Silero (onnxruntime-node), and sherpa-onnx's Silero and TEN VAD. Calls are spread over two shards, so
// the test also covers sharding and the in-order ops of a shard.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { int16ToFloat } from '../gateway/audio/codec.js';
import { ConfigSchema } from '../gateway/config.js';
import { ListenService, type VadBackend } from '../gateway/listen/ListenService.js';
import { isResolved, resolveModel } from '../gateway/models.js';
import { labels, wireAudio } from './helpers/corpus.js';

const s01 = labels().find((l) => l.file === 'bargein/s01_caller.wav')!;
const echo = ConfigSchema.parse({}).echo;

describe.each(['silero-ort', 'sherpa-silero', 'sherpa-ten'] as VadBackend[])('VAD backend %s', (backend) => {
  it('scores many calls per request over two shards and finds the labelled onset', async () => {
    const model = resolveModel(backend === 'sherpa-ten' ? 'ten-vad' : 'silero-vad-v5');
    if (!isResolved(model)) throw new Error('model missing');
    const svc = await ListenService.start({ backend, modelPath: model.files.model, tickMs: 16, threads: 1, shards: 2, echo });
    const audio = int16ToFloat(wireAudio(s01.file).samples);
    const calls = 8;
    const firstSpeech: number[] = [];
    const residualSamples: number[] = [];
    const last = Math.floor(audio.length / 512) - 1;
    await new Promise<void>((resolve) => {
      let done = 0;
      for (let c = 0; c < calls; c++) {
        let first = -1;
        let got = 0;
        const expectIndex = { next: 0 };
        const s = svc.open(
          {
            frame: (r) => {
              // Frames come back in order, one per 32 ms of audio.
              expect(r.index).toBe(expectIndex.next++);
              expect(r.echo).toBe(false); // nothing was played: nothing can be echo
              if (first < 0 && r.prob >= 0.5) firstSpeech.push((first = r.index * 32));
              if (r.index === last) {
                residualSamples.push(got);
                s.close();
                if (++done === calls) resolve();
              }
            },
            residual: (x) => (got += x.length),
          },
          { residual: c % 2 === 0 },
        );
        for (let i = 0; i < audio.length; i += 320) s.push(audio.subarray(i, i + 320));
      }
    });
    expect(firstSpeech).toHaveLength(calls);
    for (const t of firstSpeech) expect(Math.abs(t - s01.speechOnsetMs!)).toBeLessThanOrEqual(100);
    // Echo-cancelled audio comes back only to the calls that asked for it, all of it.
    expect(residualSamples.filter((n) => n > 0)).toHaveLength(calls / 2);
    for (const n of residualSamples.filter((n) => n > 0)) expect(n).toBeGreaterThanOrEqual((last + 1) * 512);
    const st = svc.stats();
    expect(st.shards).toBe(2);
    // Batched: each model run scores every call of its shard at once (the audio was all pushed up front).
    if (backend === 'silero-ort') expect(st.runs).toBeLessThanOrEqual(st.frames / (calls / st.shards));
    await svc.close();
  });
});

describe('narrowband calls in the listen worker', () => {
  it('8 kHz audio upsampled by the worker scores exactly as audio upsampled on the main thread did', async () => {
    const { Resampler } = await import('../gateway/audio/resampler.js');
    const model = resolveModel('silero-vad-v5');
    if (!isResolved(model)) throw new Error('model missing');
    const svc = await ListenService.start({ backend: 'silero-ort', modelPath: model.files.model, tickMs: 16, threads: 1, shards: 2, echo });
    const clip = wireAudio(s01.twin8k);
    expect(clip.sampleRate).toBe(8000);
    const last = Math.floor((clip.samples.length * 2) / 512) - 1;
    const probs: number[][] = [[], []];
    await new Promise<void>((resolve) => {
      let done = 0;
      const open = (k: number, rate: number) => {
        const s = svc.open({
          frame: (r) => {
            probs[k][r.index] = r.prob;
            if (r.index === last) {
              s.close();
              if (++done === 2) resolve();
            }
          },
        }, { rate });
        return s;
      };
      const inWorker = open(0, 8000);
      const onMain = open(1, 16000);
      const up = new Resampler(8000, 16000);
      for (let i = 0; i < clip.samples.length; i += 160) {
        const pcm = clip.samples.subarray(i, i + 160);
        expect(inWorker.pushPcm16(pcm)).toBe(pcm.length * 2);
        onMain.push(up.processInt16(pcm).slice());
      }
    });
    expect(probs[0]).toHaveLength(last + 1);
    // Same filter, same frames: equal up to the model's float rounding in differently composed batches.
    expect(Math.max(...probs[0].map((p, i) => Math.abs(p - probs[1][i])))).toBeLessThan(1e-5);
    const first = probs[0].findIndex((p) => p >= 0.5) * 32;
    expect(Math.abs(first - s01.speechOnsetMs!)).toBeLessThanOrEqual(160);
    // Only the two rates the worker can take exactly.
    expect(() => svc.open({ frame: () => {} }, { rate: 44100 })).toThrow(/44100/);
    await svc.close();
  });
});

describe.each(['sherpa-silero', 'sherpa-ten'] as VadBackend[])('VAD backend %s with a damaged model', (backend) => {
  it('is a clear start-up error, before sherpa-onnx could abort the process at a call', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'earshot-vad-bad-'));
    const bad = join(dir, 'model.onnx');
    writeFileSync(bad, 'this is not a model\n');
    await expect(ListenService.start({ backend, modelPath: bad, tickMs: 16, threads: 1, shards: 1, echo })).rejects.toThrow(/not an ONNX/);
    await expect(ListenService.start({ backend, modelPath: join(dir, 'missing.onnx'), tickMs: 16, threads: 1, shards: 1, echo })).rejects.toThrow(/ENOENT|no such file/);
  });
});
