// A prompt as the echo canceller needs it: at the model rate, as float. On a narrowband call every prompt frame
// would otherwise be resampled on the event loop, for every call playing it (about half of a narrowband call's
// resampling). Computed once per prompt's samples with the same streaming filter from silence, so a frame taken
// from it equals what the call's own resampler gives for a prompt played from its start; held while the prompt
// is (library prompts and cached synthesis are shared by every call).
import { Resampler } from '../audio/resampler.js';

const cache = new WeakMap<Int16Array, Float32Array>();

/** Reference of `whole[start, end)` at `outRate`, a view of the prompt's cached conversion. */
export function promptReference(whole: Int16Array, inRate: number, outRate: number, start: number, end: number): Float32Array {
  let ref = cache.get(whole);
  if (!ref) {
    ref = new Resampler(inRate, outRate).processInt16(whole).slice();
    cache.set(whole, ref);
  }
  const ratio = outRate / inRate;
  return ref.subarray(Math.round(start * ratio), Math.round(end * ratio));
}
