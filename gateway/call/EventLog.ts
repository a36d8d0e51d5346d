// Recent events of every call, each with an id, so that an event stream that drops can resume where it stopped
// (SSE `Last-Event-ID`) and one stream can follow every call (GET /v1/events). In memory and bounded three ways: the
// newest `replayEvents` events of all calls together, the newest `replayPerCall` of each live call, and the events
// of ended calls kept for `endedRetentionMs` within `endedReplayBytes` (oldest ended call evicted first). Durable
// delivery is the webhooks' job; this covers reconnects and dialer restarts within minutes.
//
// Ids are `<epoch>-<seq>`: seq counts every event of this process from 1, epoch names the process (its start time),
// so that an id from before a restart is recognised as such instead of being read as a position in the new log.
import Denque from 'denque';
import type { CallRegistry } from './CallRegistry.js';
import type { CallEvent, CallEventType } from './events.js';

export interface LoggedEvent {
  /** `<epoch>-<seq>`, what SSE sends as `id:`. */
  readonly id: string;
  readonly seq: number;
  readonly callId: string;
  readonly type: CallEventType;
  /** The event as JSON, serialised once for every stream. */
  readonly json: string;
}

export interface EventLogLimits {
  replayEvents: number;
  replayPerCall: number;
  endedReplayBytes: number;
  endedRetentionMs: number;
}

/** What a stream resuming after an id gets: the events after it that are still held, and whether some were lost. */
export interface Replay {
  events: LoggedEvent[];
  /** Events after the id were evicted (or the id is from another process): the stream has a hole. */
  gap: boolean;
}

interface CallLog {
  events: Denque<LoggedEvent>;
  bytes: number;
  /** Seq of the newest event of this call evicted from its log (0: none). */
  evictedThrough: number;
  endedAt: number | null;
}

/** A parsed `Last-Event-ID`: seq in this process, or `foreign` (another process's, or not an id of ours). */
export type EventPosition = { seq: number } | { foreign: true };

export class EventLog {
  readonly epoch = Date.now().toString(36);
  private seq = 0;
  private readonly all = new Denque<LoggedEvent>();
  private readonly calls = new Map<string, CallLog>();
  /** Ended calls by end time (Map order), and the bytes their logs hold. */
  private readonly ended = new Map<string, CallLog>();
  private endedBytes = 0;
  private readonly listeners = new Set<(e: LoggedEvent) => void>();
  private readonly callListeners = new Map<string, Set<(e: LoggedEvent) => void>>();

  constructor(
    private readonly limits: EventLogLimits,
    private readonly now: () => number = Date.now,
  ) {}

  /** The newest event's id (what a stream starting now resumes after), or null before the first event. */
  get lastId(): string | null {
    return this.seq ? `${this.epoch}-${this.seq}` : null;
  }

  /** `Last-Event-ID` as sent back by a client; null when it is malformed. */
  parse(id: string): EventPosition | null {
    const m = /^([0-9a-z]{1,16})-(\d{1,15})$/.exec(id.trim());
    if (!m) return null;
    if (m[1] !== this.epoch) return { foreign: true };
    return { seq: Number(m[2]) };
  }

  /** Logs every call the registry starts (its `ready`, then each event it emits) or refuses, from now on. */
  record(calls: CallRegistry): this {
    calls.onStarted((call) => {
      this.append(call.id, { type: 'ready', callId: call.id, t: 0 });
      call.observe((ev) => this.append(call.id, ev));
    });
    calls.onRejected((callId, reason) => this.append(callId, { type: 'rejected', callId, reason, t: 0 }));
    return this;
  }

  append(callId: string, ev: CallEvent): LoggedEvent {
    // A call's first event: an id used before by a call that has ended starts a log of its own.
    if (ev.type === 'ready' || ev.type === 'rejected') this.forgetEnded(callId);
    this.seq++;
    const e: LoggedEvent = { id: `${this.epoch}-${this.seq}`, seq: this.seq, callId, type: ev.type, json: JSON.stringify(ev) };
    this.all.push(e);
    if (this.all.length > this.limits.replayEvents) this.all.shift();
    let log = this.calls.get(callId) ?? this.ended.get(callId);
    if (!log) this.calls.set(callId, (log = { events: new Denque(), bytes: 0, evictedThrough: 0, endedAt: null }));
    log.events.push(e);
    log.bytes += e.json.length;
    if (log.endedAt !== null) this.endedBytes += e.json.length;
    if (log.events.length > this.limits.replayPerCall) this.evictOne(log);
    for (const fn of this.listeners) fn(e);
    const mine = this.callListeners.get(callId);
    if (mine) for (const fn of mine) fn(e);
    if (ev.type === 'call_summary' || ev.type === 'rejected') this.end(callId);
    return e;
  }

  /** Every event appended from now on, synchronously. Returns the unsubscribe function. */
  subscribe(fn: (e: LoggedEvent) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** This call's events appended from now on. Returns the unsubscribe function. */
  subscribeCall(callId: string, fn: (e: LoggedEvent) => void): () => void {
    let set = this.callListeners.get(callId);
    if (!set) this.callListeners.set(callId, (set = new Set()));
    set.add(fn);
    return () => {
      set.delete(fn);
      if (!set.size && this.callListeners.get(callId) === set) this.callListeners.delete(callId);
    };
  }

  /** Is anything held for this call (live, or ended within retention)? */
  has(callId: string): boolean {
    this.expire();
    return this.calls.has(callId) || this.ended.has(callId);
  }

  /** Has this call's last event (`call_summary`, `rejected`) been logged? */
  isEnded(callId: string): boolean {
    return this.ended.has(callId);
  }

  /** The events of every call after `after`. */
  since(after: EventPosition): Replay {
    const first = this.all.peekFront();
    if (!first) return { events: [], gap: 'foreign' in after || after.seq < this.seq };
    if ('foreign' in after) return { events: this.all.toArray(), gap: true };
    // Every event is in `all` in seq order without holes, so the position of seq s is s − first.seq.
    const from = Math.max(0, after.seq + 1 - first.seq);
    const events: LoggedEvent[] = [];
    for (let i = from; i < this.all.length; i++) events.push(this.all.peekAt(i)!);
    return { events, gap: after.seq + 1 < first.seq };
  }

  /** One call's events after `after`, or null when nothing of the call is held. */
  callSince(callId: string, after: EventPosition): Replay | null {
    this.expire();
    const log = this.calls.get(callId) ?? this.ended.get(callId);
    if (!log) return null;
    const all = log.events.toArray();
    if ('foreign' in after) return { events: all, gap: true };
    return { events: all.filter((e) => e.seq > after.seq), gap: log.evictedThrough > after.seq };
  }

  /** The call's first logged event of `type` (its `ready`, its `rejected`); `live`: only of a call not yet ended. */
  first(callId: string, type: CallEventType, where: 'live' | 'any'): LoggedEvent | undefined {
    const log = this.calls.get(callId) ?? (where === 'any' ? this.ended.get(callId) : undefined);
    return log?.events.toArray().find((e) => e.type === type);
  }

  private end(callId: string): void {
    const log = this.calls.get(callId);
    if (!log) return;
    this.calls.delete(callId);
    log.endedAt = this.now();
    this.ended.set(callId, log);
    this.endedBytes += log.bytes;
    this.expire();
  }

  private forgetEnded(callId: string): void {
    const log = this.ended.get(callId);
    if (!log) return;
    this.ended.delete(callId);
    this.endedBytes -= log.bytes;
  }

  private evictOne(log: CallLog): void {
    const e = log.events.shift()!;
    log.evictedThrough = e.seq;
    log.bytes -= e.json.length;
    if (log.endedAt !== null) this.endedBytes -= e.json.length;
  }

  /** Drops ended calls past retention, then the oldest ended calls while over the byte budget. */
  private expire(): void {
    const cutoff = this.now() - this.limits.endedRetentionMs;
    for (const [id, log] of this.ended) {
      if (log.endedAt! > cutoff && this.endedBytes <= this.limits.endedReplayBytes) break;
      this.ended.delete(id);
      this.endedBytes -= log.bytes;
    }
  }
}
