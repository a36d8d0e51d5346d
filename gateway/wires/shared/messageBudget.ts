// The per-connection message budget every wire applies to what its client sends (limits.maxMessagesPerSecond …).
import { MessageBudget } from '../../call/MessageBudget.js';
import type { Config } from '../../config.js';

export function messageBudget(config: Config): MessageBudget {
  const l = config.limits;
  return new MessageBudget({ maxMessagesPerSecond: l.maxMessagesPerSecond, maxBytesPerSecond: l.maxInboundBytesPerSecond, burstBytes: 2 * l.maxMessageBytes }, performance.now());
}

export const RATE_LIMITED = { code: 'rate_limited', message: 'this connection sends more messages or bytes per second than allowed' } as const;
