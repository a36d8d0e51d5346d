// The audio transforms an ASR stream can ask of its worker (AsrStream.accept's `transform`): applied in the worker
// thread, where the decoding already runs, so a consent answer heard again band-extended costs the event loop
// nothing but forwarding its samples.
import { extendBandwidth } from '../../audio/bandwidth.js';
import type { AudioTransform } from './types.js';

/** `x` as the recogniser is to hear it under `t` (a new array; `x` is left as it is). */
export function transformAudio(x: Float32Array, t: AudioTransform): Float32Array {
  switch (t.kind) {
    case 'extendBandwidth':
      return extendBandwidth(x, t.db);
    default:
      // A transform this worker does not know must not pass for the audio itself.
      throw new Error(`unknown audio transform ${(t as { kind: string }).kind}`);
  }
}
