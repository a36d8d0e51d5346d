// The live calls by id, and what became of ids someone is waiting for: an event stream may be opened before its
// call's media connects, and must then learn that the call started, or why it was refused.
import type { Call } from './Call.js';

/** How a call awaited by id turned out: it started, it was refused at start, or neither happened in time. */
export type CallArrival = { call: Call } | { rejected: string } | { timeout: true };

/** Refusals remembered for late subscribers: how many, and for how long. */
const REFUSALS_KEPT = 1000;
const REFUSAL_TTL_MS = 30_000;

export class CallRegistry {
  private readonly live = new Map<string, Call>();
  /** Callbacks waiting for a call id to start or be refused. */
  private readonly awaiting = new Map<string, Set<(a: CallArrival) => void>>();
  /** Callbacks in `awaiting`, all ids together. */
  private waiters = 0;
  /** Recent refusals by call id, for a subscriber that arrives just after its call was refused. */
  private readonly refusals = new Map<string, { reason: string; at: number }>();
  private readonly startedHooks: ((call: Call) => void)[] = [];

  /** `maxWaiters`: callbacks that may await ids at once, all ids together (limits.maxPendingEventStreams). */
  constructor(private readonly maxWaiters = Infinity) {}

  get size(): number {
    return this.live.size;
  }

  get(callId: string): Call | undefined {
    return this.live.get(callId);
  }

  has(callId: string): boolean {
    return this.live.has(callId);
  }

  values(): IterableIterator<Call> {
    return this.live.values();
  }

  keys(): IterableIterator<string> {
    return this.live.keys();
  }

  /** Runs `fn` for every call registered from now on, after whoever awaited its id. */
  onStarted(fn: (call: Call) => void): void {
    this.startedHooks.push(fn);
  }

  register(call: Call): void {
    this.live.set(call.id, call);
    this.refusals.delete(call.id);
    this.arrive(call.id, { call });
    for (const fn of this.startedHooks) fn(call);
  }

  /** An ended call frees its id (only that very call: a new call may hold the id by now). */
  unregister(call: Call): void {
    if (this.live.get(call.id) === call) this.live.delete(call.id);
  }

  /**
   * Calls `cb` once, synchronously, when `callId` starts (before any of its events) or is refused at start, or
   * with `timeout` after `timeoutMs`. Returns a cancel function, or null when too many are waiting already.
   */
  awaitCall(callId: string, timeoutMs: number, cb: (a: CallArrival) => void): (() => void) | null {
    if (this.waiters >= this.maxWaiters) return null;
    let set = this.awaiting.get(callId);
    if (!set) this.awaiting.set(callId, (set = new Set()));
    const waiter = (a: CallArrival) => {
      cancel();
      cb(a);
    };
    const timer = setTimeout(() => waiter({ timeout: true }), timeoutMs);
    const cancel = () => {
      clearTimeout(timer);
      if (set.delete(waiter)) this.waiters--;
      if (!set.size && this.awaiting.get(callId) === set) this.awaiting.delete(callId);
    };
    set.add(waiter);
    this.waiters++;
    return cancel;
  }

  /** A call refused at start (policy, capacity, shutdown): whoever awaits its id learns why. */
  announceRejected(callId: string, reason: string): void {
    this.refusals.delete(callId);
    this.refusals.set(callId, { reason, at: performance.now() });
    if (this.refusals.size > REFUSALS_KEPT) this.refusals.delete(this.refusals.keys().next().value!);
    this.arrive(callId, { rejected: reason });
  }

  /** Why `callId` was refused at start within the last 30 s, if it was. */
  recentRefusal(callId: string): string | undefined {
    const r = this.refusals.get(callId);
    return r && performance.now() - r.at < REFUSAL_TTL_MS ? r.reason : undefined;
  }

  private arrive(callId: string, a: CallArrival): void {
    const set = this.awaiting.get(callId);
    if (set) for (const w of [...set]) w(a);
  }
}
