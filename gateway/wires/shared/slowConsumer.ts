// What every wire does when its client stops reading what it is sent (events as well as audio).
import type { Call } from '../../call/Call.js';

/**
 * A client that stopped reading what it is sent: its call fails as `slow_consumer`. Not from inside the send that
 * found it, since fail() emits events that come back through that send. False when there is no live call to fail
 * (the wire then drops the connection itself).
 */
export function failSlowConsumer(call: Call | null, message: string): boolean {
  if (!call || call.isEnded) return false;
  queueMicrotask(() => call.fail('slow_consumer', message, 1008));
  return true;
}
