// A seeded random source for the scenario generator: every draw comes from here, so one seed is one corpus. Each
// scenario gets its own stream (seed × scenario index), so a scenario renders the same whether the whole corpus is
// built or only a sample of it, in one process or in several.

export class Rng {
  private a: number;

  constructor(seed: number) {
    this.a = seed >>> 0;
  }

  /** An independent stream for a sub-task (a scenario, a noise source), derived from this seed and a key. */
  static derive(seed: number, ...keys: (number | string)[]): Rng {
    let h = (seed ^ 0x9e3779b9) >>> 0;
    for (const k of keys) {
      const s = String(k);
      for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
      h = Math.imul(h ^ (h >>> 15), 0x85ebca6b) >>> 0;
    }
    return new Rng(h);
  }

  /** mulberry32: uniform in [0, 1). */
  next(): number {
    this.a = (this.a + 0x6d2b79f5) >>> 0;
    let t = this.a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  int(lo: number, hiInclusive: number): number {
    return lo + Math.floor(this.next() * (hiInclusive - lo + 1));
  }

  pick<T>(xs: readonly T[]): T {
    if (!xs.length) throw new Error('pick from an empty list');
    return xs[Math.floor(this.next() * xs.length)];
  }

  /** Standard normal (Box–Muller). */
  gauss(): number {
    const u = Math.max(this.next(), 1e-12);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }

  shuffle<T>(xs: readonly T[]): T[] {
    const out = [...xs];
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      [out[i], out[j]] = [out[j], out[i]];
    }
    return out;
  }

  /**
   * `n` values spread as evenly as possible over `options` (weights = repetitions), in random order: each half of
   * the corpus gets the same counts of every condition instead of whatever independent draws happen to give.
   */
  balanced<T>(n: number, options: readonly T[]): T[] {
    const out: T[] = [];
    for (let i = 0; i < n; i++) out.push(options[i % options.length]);
    return this.shuffle(out);
  }

  /** `n` values stratified over [lo, hi): one per equal-width bin, shuffled (a uniform spread without clumps). */
  stratified(n: number, lo: number, hi: number): number[] {
    const out: number[] = [];
    for (let i = 0; i < n; i++) out.push(lo + ((i + this.next()) / n) * (hi - lo));
    return this.shuffle(out);
  }
}
