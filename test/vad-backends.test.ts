// Every VAD backend selectable by configuration runs the real model on a real scenario: the batched Silero
// (onnxruntime-node), and sherpa-onnx's Silero and TEN VAD, each in the inference worker.
import { describe, expect, it } from 'vitest';
import { int16ToFloat } from '../gateway/audio/codec.js';
import { VadService, type VadBackend } from '../gateway/listen/vad/VadService.js';
import { isResolved, resolveModel } from '../gateway/models.js';
import { labels, wireAudio } from './helpers/corpus.js';

const s01 = labels().find((l) => l.file === 'bargein/s01_caller.wav')!;

describe.each(['silero-ort', 'sherpa-silero', 'sherpa-ten'] as VadBackend[])('VAD backend %s', (backend) => {
  it('scores many calls per request and finds the labelled onset', async () => {
    const model = resolveModel(backend === 'sherpa-ten' ? 'ten-vad' : 'silero-vad-v5');
    if (!isResolved(model)) throw new Error('model missing');
    const svc = await VadService.start({ backend, modelPath: model.files.model, tickMs: 16, threads: 1 });
    const audio = int16ToFloat(wireAudio(s01.file).samples);
    const calls = 8;
    const firstSpeech: number[] = [];
    await new Promise<void>((resolve) => {
      let done = 0;
      const last = Math.floor(audio.length / 512) - 1;
      for (let c = 0; c < calls; c++) {
        let first = -1;
        const s = svc.open((r) => {
          if (first < 0 && r.prob >= 0.5) firstSpeech.push((first = r.index * 32));
          if (r.index === last) {
            s.close();
            if (++done === calls) resolve();
          }
        });
        for (let i = 0; i < audio.length; i += 320) s.push(audio.subarray(i, i + 320));
      }
    });
    expect(firstSpeech).toHaveLength(calls);
    for (const t of firstSpeech) expect(Math.abs(t - s01.speechOnsetMs!)).toBeLessThanOrEqual(100);
    // Batched: far fewer model runs than frames scored.
    const st = svc.stats();
    if (backend === 'silero-ort') expect(st.runs).toBeLessThan(st.frames / 4);
    await svc.close();
  });
});
