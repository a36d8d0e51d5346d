// How fast a call's inbound audio may arrive, against the wall clock. A telephony leg delivers audio at real time;
// one client sent 8,400 s of audio in 2.9 s, and every second of it costs decoding, a listen worker's VAD and
// memory. A token bucket: the call earns `maxRatio` ms of audio per wall ms, holds at most `burstMs` of them (the
// network's jitter, a wire replaying audio held during admission), and spends the duration of each frame it sends.
// A call that spends what it does not have is over budget and is ended by its Call, whatever its wire.
import { TokenBucket } from './TokenBucket.js';

export interface InboundRateLimits {
  /** Most inbound audio per wall-clock time over the long run (1 = real time). */
  maxRatio: number;
  /** Audio that may arrive ahead of that rate at any moment, ms. */
  burstMs: number;
}

export class InboundRateBudget extends TokenBucket {
  constructor(limits: InboundRateLimits, now: number) {
    super(limits.maxRatio, limits.burstMs, now);
  }
}
