// A token bucket against the wall clock: earns `ratePerMs` per millisecond, holds at most `capacity`, and spends
// what is asked of it. Rates of inbound audio (InboundRateBudget) and of a connection's messages use it.
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly ratePerMs: number,
    private readonly capacity: number,
    now: number,
  ) {
    this.tokens = capacity;
    this.last = now;
  }

  /** Spends `amount` at wall time `now` (ms); false when that leaves the bucket in debt. */
  spend(amount: number, now: number): boolean {
    const earned = Math.max(0, now - this.last) * this.ratePerMs;
    this.tokens = Math.min(this.capacity, this.tokens + earned);
    this.last = now;
    this.tokens -= amount;
    return this.tokens >= 0;
  }

  /** What could be spent right now without going into debt. */
  get available(): number {
    return Math.max(0, this.tokens);
  }
}
