// Pitch-preserving time-scale modification (WSOLA: waveform-similarity overlap-add). Isolated dictionary
// syllables last 0.4–0.7 s; running speech needs ~0.2 s. Resampling would raise the pitch (and the tone
// contours the listener depends on), so we shorten by dropping whole pitch-synchronous chunks instead: each
// output frame is the input frame near the nominal position that best continues the previous one.

/** Returns `x` stretched to about `targetLength` samples (shorter or longer), pitch unchanged. */
export function wsola(x: Float32Array, targetLength: number, sampleRate: number): Float32Array {
  const win = Math.round(sampleRate * 0.025); // 25 ms: covers ≥2 pitch periods of a female voice
  const hop = win >> 1;
  const tol = Math.round(sampleRate * 0.006); // search ±6 ms for the best-matching continuation
  if (x.length < win * 2 || targetLength < win) return x.slice(0, Math.max(targetLength, 0));
  const alpha = (x.length - win) / Math.max(1, targetLength - win); // input advance per output sample
  const nFrames = Math.floor((targetLength - win) / hop) + 1;
  const out = new Float32Array((nFrames - 1) * hop + win);
  const norm = new Float32Array(out.length);
  const w = new Float32Array(win);
  for (let i = 0; i < win; i++) w[i] = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / win);
  let prevStart = 0;
  for (let f = 0; f < nFrames; f++) {
    const nominal = Math.round(f * hop * alpha);
    let best = Math.min(nominal, x.length - win);
    if (f > 0) {
      // The natural continuation of the previously copied frame, one hop further on.
      const natural = prevStart + hop;
      let bestScore = -Infinity;
      const lo = Math.max(0, nominal - tol);
      const hi = Math.min(x.length - win, nominal + tol);
      for (let c = lo; c <= hi; c++) {
        let s = 0;
        for (let k = 0; k < hop; k += 2) {
          const a = natural + k < x.length ? x[natural + k] : 0;
          s += a * x[c + k];
        }
        if (s > bestScore) {
          bestScore = s;
          best = c;
        }
      }
    }
    const o = f * hop;
    for (let k = 0; k < win; k++) {
      out[o + k] += x[best + k] * w[k];
      norm[o + k] += w[k];
    }
    prevStart = best;
  }
  for (let i = 0; i < out.length; i++) if (norm[i] > 1e-3) out[i] /= norm[i];
  return out;
}
