// Deterministic white noise for the warm-ups' synthetic calls (listen/warmUp.ts, call/warmUp.ts): no Math.random,
// since a warm-up that differs per start cannot be reasoned about.

/** `n` samples uniform in ±`gain` from a xorshift32 sequence seeded with `seed`. */
export function seededNoise(n: number, seed: number, gain: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = ((s >>> 0) / 0xffffffff - 0.5) * 2 * gain;
  }
  return out;
}
