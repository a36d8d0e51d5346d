// The webhook outbox: events waiting to be delivered, delivered, or given up on (dead letters). One interface, an
// implementation per database engine (SqliteWebhookOutbox for one gateway, PgWebhookOutbox for a fleet). Methods
// are asynchronous and take batches, so an engine can keep its writes off the audio path and an fsync per batch.
// The rows themselves are written by whichever store records what they announce, in that store's own transaction
// (an evidence record, a call record, a do-not-call entry: OutboxRow), so a fact and its announcement commit or
// vanish together; only events nothing else records (a start refused for capacity) go in through enqueue().

export type OutboxState = 'pending' | 'delivered' | 'dead';

export interface NewWebhookEvent {
  /** Idempotency key (a ULID): the receiver sees the same id on every attempt of the same event. */
  id: string;
  type: string;
  callId: string | null;
  /** The exact body sent (and signed) on every attempt. */
  body: string;
  createdAt: number;
}

/**
 * A row as a store writes it inside its own transaction. `dead` is set when the outbox was full when the row was
 * built (`webhooks.maxPending`): it is stored as a dead letter (`queue_full`), listed and replayable, never sent.
 */
export interface OutboxRow extends NewWebhookEvent {
  dead?: 'queue_full';
}

/** What a store announces about the record it writes, given that record (its id is known only there). */
export type Announce<T> = (recorded: T) => readonly OutboxRow[];

export interface OutboxEntry extends NewWebhookEvent {
  state: OutboxState;
  attempts: number;
  /** Unix ms of the next attempt (pending), of the last attempt otherwise. */
  nextAttemptAt: number;
  lastError: string | null;
  lastStatus: number | null;
  deliveredAt: number | null;
}

export type AttemptOutcome =
  | { id: string; result: 'delivered'; status: number; at: number }
  | { id: string; result: 'retry'; error: string; status: number | null; nextAttemptAt: number }
  | { id: string; result: 'dead'; error: string; status: number | null; at: number };

export interface WebhookOutboxStore {
  /** Queues events; those past `maxPending` waiting events are stored as dead letters (`queue_full`) instead. */
  enqueue(events: readonly NewWebhookEvent[], maxPending: number): Promise<{ queued: string[]; overflowed: string[] }>;
  /**
   * Pending events due by `now`, at most `limit`, leased until `leaseUntil` so no other dispatcher (another
   * process on the same database) takes them meanwhile. A lease left by a crash simply runs out.
   */
  claimDue(now: number, limit: number, leaseUntil: number): Promise<OutboxEntry[]>;
  /** When the next pending event falls due (lease included), or null when none is pending. */
  nextDueAt(): Promise<number | null>;
  /** How many events wait (state pending). */
  pendingCount(): Promise<number>;
  /**
   * Calls `fn` soon after any store committed rows into this outbox (in this process; for PostgreSQL, in any
   * instance of the fleet), so the dispatcher sends them at once rather than at its next poll. Returns unsubscribe.
   */
  onWritten(fn: () => void): () => void;
  settle(outcomes: readonly AttemptOutcome[]): Promise<void>;
  get(id: string): Promise<OutboxEntry | null>;
  list(q: { state?: OutboxState; limit: number; before?: string }): Promise<OutboxEntry[]>;
  counts(): Promise<Record<OutboxState, number>>;
  /**
   * Pending events waiting out a backoff, due now: the receiver has just acknowledged a delivery again, so the
   * events held back by its outage need not wait up to a full backoff each. Attempts are kept. Returns how many.
   */
  expedite(now: number): Promise<number>;
  /** A dead letter (or a delivered event, to send it again) back to pending, due now, attempts reset. */
  replay(id: string, now: number): Promise<boolean>;
  /** Deletes delivered events delivered before `before`; returns how many. */
  prune(before: number): Promise<number>;
  close(): Promise<void>;
}

/** An outbox row as both engines store it (the same columns in SQLite and PostgreSQL). */
export interface OutboxTableRow {
  id: string;
  type: string;
  call_id: string | null;
  body: string;
  created_at: number;
  state: OutboxState;
  attempts: number;
  next_attempt_at: number;
  last_error: string | null;
  last_status: number | null;
  delivered_at: number | null;
}

export const entryFromRow = (r: OutboxTableRow): OutboxEntry => ({
  id: r.id,
  type: r.type,
  callId: r.call_id,
  body: r.body,
  createdAt: r.created_at,
  state: r.state,
  attempts: r.attempts,
  nextAttemptAt: r.next_attempt_at,
  lastError: r.last_error,
  lastStatus: r.last_status,
  deliveredAt: r.delivered_at,
});
