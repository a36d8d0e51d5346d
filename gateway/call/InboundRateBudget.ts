// How fast a call's inbound audio may arrive, against the wall clock. A telephony leg delivers audio at real time;
// one client sent 8,400 s of audio in 2.9 s, and every second of it costs decoding, a listen worker's VAD and
// memory. A token bucket: the call earns `maxRatio` ms of audio per wall ms, holds at most `burstMs` of them (the
// network's jitter, a wire replaying audio held during admission), and spends the duration of each frame it sends.
// A call that spends what it does not have is over budget and is ended by its Call, whatever its wire.
export interface InboundRateLimits {
  /** Most inbound audio per wall-clock time over the long run (1 = real time). */
  maxRatio: number;
  /** Audio that may arrive ahead of that rate at any moment, ms. */
  burstMs: number;
}

export class InboundRateBudget {
  private tokens: number;
  private last: number;

  constructor(
    private readonly limits: InboundRateLimits,
    now: number,
  ) {
    this.tokens = limits.burstMs;
    this.last = now;
  }

  /** Spends `audioMs` of audio arriving at wall time `now` (ms); false when the call has gone over its budget. */
  spend(audioMs: number, now: number): boolean {
    const earned = Math.max(0, now - this.last) * this.limits.maxRatio;
    this.tokens = Math.min(this.limits.burstMs, this.tokens + earned);
    this.last = now;
    this.tokens -= audioMs;
    return this.tokens >= 0;
  }

  /** Audio ms the call could send right now without going over. */
  get available(): number {
    return Math.max(0, this.tokens);
  }
}
