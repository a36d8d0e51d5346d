// What the features that record facts use to announce them: `row` builds the outbox row for an event, and the
// feature hands it to its own store, which writes it in the same transaction as the record (the consent feature to
// the evidence append, the policy feature to the call record and the do-not-call insert). Off (webhooks not
// configured, or the event type not in `webhooks.events`): no rows, and the stores write what they always wrote.
// Events nothing records (a start refused for capacity, a call without a call record) are announced on their own by
// the webhooks feature; `carried` tells it which ones a store has taken already.
import type { WebhookEventType } from './config.js';
import type { OutboxRow } from './WebhookOutbox.js';

/** Where rows come from and where the rows nobody carries go: the dispatcher. */
export interface RowSource {
  row(type: string, callId: string | null, data: Record<string, unknown>): OutboxRow;
  submit(rows: readonly OutboxRow[]): void;
}

/** (type, callId) pairs whose row a store carries, kept this long at most for the webhooks feature to look at. */
const CARRIED_MAX = 10_000;
/** The types the webhooks feature announces itself when no store carried them. */
const FALLBACK: ReadonlySet<string> = new Set<WebhookEventType>(['call_summary', 'rejected']);

/** The call an event is about (a Call): its id, who it was with and how it came in, named in the event's body. */
export interface CallAbout {
  id: string;
  init: { callee?: string; callType: string; wire: string };
}

export class WebhookAnnouncer {
  private source: RowSource | null = null;
  private events = new Set<string>();
  private readonly carriedKeys = new Set<string>();

  /** Called by the webhooks feature once its outbox and dispatcher run. */
  enable(events: readonly WebhookEventType[], source: RowSource): void {
    this.events = new Set(events);
    this.source = source;
  }

  disable(): void {
    this.source = null;
  }

  /** Whether `type` is announced at all. */
  sends(type: WebhookEventType): boolean {
    return this.source !== null && this.events.has(type);
  }

  /**
   * The row announcing an event, as a one-element list for a store's `announce` argument (empty when the type is
   * not sent). Marks (type, callId) as carried by a store: the caller writes it with its record.
   */
  row(type: WebhookEventType, callId: string | null, data: Record<string, unknown>): OutboxRow[] {
    if (!this.source || !this.events.has(type)) return [];
    if (callId !== null && FALLBACK.has(type)) {
      this.carriedKeys.add(`${type}|${callId}`);
      if (this.carriedKeys.size > CARRIED_MAX) this.carriedKeys.delete(this.carriedKeys.values().next().value!);
    }
    return [this.source.row(type, callId, data)];
  }

  /** A call event's row (consent, call_summary): the event with the call's callee, call type and wire as `data`. */
  callEvent(call: CallAbout, ev: { type: 'consent' | 'call_summary' } & Record<string, unknown>): OutboxRow[] {
    const { callee, callType, wire } = call.init;
    return this.row(ev.type, call.id, { callee: callee ?? null, callType, wire, ...ev, callId: call.id });
  }

  /** Rows that no store carries: into the outbox in a transaction of their own, on the next turn of the event loop. */
  alone(rows: readonly OutboxRow[]): void {
    if (rows.length) this.source?.submit(rows);
  }

  /** True once, when a store took (type, callId)'s row: whoever would otherwise announce it alone skips it. */
  carried(type: WebhookEventType, callId: string): boolean {
    return this.carriedKeys.delete(`${type}|${callId}`);
  }
}
