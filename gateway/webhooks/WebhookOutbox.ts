// The webhook outbox: events waiting to be delivered, delivered, or given up on (dead letters). One interface, an
// implementation per database engine (SqliteWebhookOutbox; a PostgreSQL one follows with the fleet work). Methods
// are asynchronous and take batches, so an engine can keep its writes off the audio path and an fsync per batch.

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
  settle(outcomes: readonly AttemptOutcome[]): Promise<void>;
  get(id: string): Promise<OutboxEntry | null>;
  list(q: { state?: OutboxState; limit: number; before?: string }): Promise<OutboxEntry[]>;
  counts(): Promise<Record<OutboxState, number>>;
  /** A dead letter (or a delivered event, to send it again) back to pending, due now, attempts reset. */
  replay(id: string, now: number): Promise<boolean>;
  /** Deletes delivered events delivered before `before`; returns how many. */
  prune(before: number): Promise<number>;
  close(): void;
}
