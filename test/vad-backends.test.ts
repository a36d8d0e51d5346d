// Every VAD backend selectable by configuration runs the real model on a real scenario, in listen workers: the
// batched Silero (onnxruntime-node), and sherpa-onnx's Silero and TEN VAD. Calls are spread over two shards, so
// the test also covers sharding and the in-order ops of a shard.
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
