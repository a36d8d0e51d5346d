// How many messages, and how many bytes, one client connection may send per second (any wire). Audio has its own
// budget per call (InboundRateBudget); this one bounds what every message costs before anything looks at it —
// reading, UTF-8 and JSON decoding, an error event in reply — so that one connection sending large or many
// messages as fast as it can costs the event loop a bounded share, whether or not it ever starts a call.
import { TokenBucket } from './TokenBucket.js';

export interface MessageLimits {
  /** Messages per second over the long run; five seconds' worth may come at once. */
  maxMessagesPerSecond: number;
  /** Bytes per second over the long run; `burstBytes` may come at once. */
  maxBytesPerSecond: number;
  burstBytes: number;
}

export class MessageBudget {
  private readonly count: TokenBucket;
  private readonly bytes: TokenBucket;

  constructor(limits: MessageLimits, now: number) {
    this.count = new TokenBucket(limits.maxMessagesPerSecond / 1000, limits.maxMessagesPerSecond * 5, now);
    this.bytes = new TokenBucket(limits.maxBytesPerSecond / 1000, limits.burstBytes, now);
  }

  /** One message of `size` bytes at wall time `now`; false when the connection is over either budget. */
  spend(size: number, now: number): boolean {
    const a = this.count.spend(1, now);
    const b = this.bytes.spend(size, now);
    return a && b;
  }
}
