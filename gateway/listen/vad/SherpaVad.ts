// sherpa-onnx `Vad` (Silero or TEN) as a backend: one native detector per slot, scored one by one. sherpa's Vad
// exposes a speech/no-speech state rather than a probability, so the score is 1 or 0; its own min-speech and
// min-silence smoothing is set to the minimum so that earshot's barge-in policy stays the one place that decides.
import sherpa from 'sherpa-onnx-node';
import { readOnnxInputs } from '../../infer/onnxInputs.js';
import { VAD_FRAME, VAD_RATE, type VadModel } from './VadModel.js';

type SherpaVadInstance = { acceptWaveform(s: Float32Array): void; isDetected(): boolean; reset(): void; clear?(): void };

export class SherpaVad implements VadModel {
  private slots = new Map<number, SherpaVadInstance>();

  constructor(
    readonly name: 'sherpa-silero' | 'sherpa-ten',
    private readonly modelPath: string,
    private readonly threads = 1,
  ) {
    // Detectors are made per call, and sherpa-onnx std::terminates the process on a model it cannot read (README:
    // Models): a damaged file would end the gateway at the first call's open. Read here, when the shard loads, it is
    // a start-up error; one detector made now proves the rest.
    readOnnxInputs(modelPath);
    this.create();
  }

  private create(): SherpaVadInstance {
    const common = { model: this.modelPath, threshold: 0.5, minSilenceDuration: 0.05, minSpeechDuration: 0.03 };
    const config =
      this.name === 'sherpa-ten'
        ? { tenVad: { ...common, windowSize: 256, maxSpeechDuration: 60 }, sampleRate: VAD_RATE, numThreads: this.threads, debug: false }
        : { sileroVad: { ...common, windowSize: 512, maxSpeechDuration: 60 }, sampleRate: VAD_RATE, numThreads: this.threads, debug: false };
    const Ctor = (sherpa as unknown as { Vad: new (c: unknown, buf: number) => SherpaVadInstance }).Vad;
    return new Ctor(config, 30);
  }

  open(slot: number): void {
    this.slots.set(slot, this.create());
  }
  close(slot: number): void {
    this.slots.delete(slot);
  }
  reset(slot: number): void {
    this.slots.get(slot)?.reset();
  }

  async score(slots: Int32Array, frames: Float32Array): Promise<Float32Array> {
    const out = new Float32Array(slots.length);
    for (let r = 0; r < slots.length; r++) {
      let v = this.slots.get(slots[r]);
      if (!v) {
        this.open(slots[r]);
        v = this.slots.get(slots[r])!;
      }
      v.acceptWaveform(frames.subarray(r * VAD_FRAME, (r + 1) * VAD_FRAME));
      out[r] = v.isDetected() ? 1 : 0;
      // Segments are not used: drop them so the detector's buffer does not grow over a long call.
      v.clear?.();
    }
    return out;
  }
}
