// One record per call: who, which script, what was played and how far it was heard, which consent decisions were
// taken (evidence ids) and what the policy said. Per-prompt updates are frequent across thousands of calls and every
// commit costs an fsync (synchronous=FULL), so every change, the record's creation included, is batched into one
// transaction per flush interval: at 20 call starts a second, an fsync per start held the event loop for
// milliseconds each. The legally relevant parts are durable elsewhere at once (consent decisions in the evidence
// store, the frequency-cap attempt in the policy store), so a crash loses at most the last interval of bookkeeping.
// The engine is behind CallRecordRepo (SQLite for one gateway, PostgreSQL for a fleet): reads are async.
import type { Decision } from '../evidence/types.js';
import { rootLogger } from '../ops/log.js';
import type { Db } from '../store/Database.js';
import type { OutboxRow } from '../webhooks/WebhookOutbox.js';
import type { CallOutcome, CallRecord, DecisionRef, PolicyCheckEntry, PromptPlay } from './CallRecord.js';
import type { CallRecordRepo } from './CallRecordRepo.js';

export type { CallOutcome, CallRecord, DecisionRef, PolicyCheckEntry, PromptPlay } from './CallRecord.js';
import { DEFAULT_COUNTRY, normalizeNumber, numberReadings, type CountryCode } from './number.js';
import { SqliteCallRecordRepo } from './SqliteCallRecordRepo.js';
import type { CallType, PolicyCode } from './types.js';

export interface CallStart {
  callId: string;
  callee?: string;
  callType: CallType;
  scriptId?: string;
  scriptVersion?: string | number;
  startedAt?: Date;
  /** Checks made before the record existed (the policy runs before the call starts). */
  policyChecks?: PolicyCheckInput[];
}

export interface PolicyCheckInput {
  allowed: boolean;
  code?: PolicyCode;
  reason?: string;
  at?: Date;
}

function checkEntry(c: PolicyCheckInput, now: Date): PolicyCheckEntry {
  return { allowed: c.allowed, code: c.code ?? null, reason: c.reason ?? null, at: (c.at ?? now).toISOString() };
}

export class UnknownCallError extends Error {}

export class CallRecordStore {
  private readonly log = rootLogger.child({ mod: 'call-records' });
  private readonly repo: CallRecordRepo;
  private readonly active = new Map<string, CallRecord>();
  private readonly dirty = new Set<string>();
  /** Started calls whose row is not written yet: their first write is an INSERT. */
  private readonly unwritten = new Set<string>();
  /** Finished calls still waiting for their last batched write; they leave `active` once written. */
  private readonly finished = new Set<string>();
  /** Calls whose id turned out to have a record already: their later updates must not touch that record. */
  private readonly disowned = new Set<string>();
  private timer: NodeJS.Timeout | null = null;
  /** The write in progress: flushes never overlap, so a record's updates reach the engine in order. */
  private writing: Promise<void> | null = null;
  /** Outbox rows announcing what the next batch records (call ends, refused starts): written in its transaction. */
  private announce: OutboxRow[] = [];
  private readonly flushIntervalMs: number;
  private readonly now: () => Date;
  private readonly defaultCountry: CountryCode;

  /**
   * On an engine's repository (SqliteCallRecordRepo, PgCallRecordRepo), or on a SQLite database directly.
   * `defaultCountry`: how digits-only callees are read (policy.defaultCountry).
   */
  constructor(
    store: CallRecordRepo | Db,
    opts: { flushIntervalMs?: number; now?: () => Date; defaultCountry?: CountryCode } = {},
  ) {
    this.flushIntervalMs = opts.flushIntervalMs ?? 250;
    this.now = opts.now ?? (() => new Date());
    this.defaultCountry = opts.defaultCountry ?? DEFAULT_COUNTRY;
    this.repo = 'prepare' in store ? new SqliteCallRecordRepo(store, this.defaultCountry) : store;
  }

  /**
   * Creates the record (written with the next batch). Throws if this store has the callId in flight; a callId
   * already stored (a retried id, another instance) keeps its original record, and this one's updates are dropped.
   */
  start(c: CallStart): CallRecord {
    if (this.active.has(c.callId)) throw new Error(`call record ${c.callId} already exists`);
    const now = this.now();
    const rec: CallRecord = {
      callId: c.callId,
      // A callee that is not one number (invalid, ambiguous: the call was refused) is kept as the client wrote it.
      callee: c.callee === undefined ? null : (normalizeNumber(c.callee, this.defaultCountry) ?? c.callee.slice(0, 64)),
      callType: c.callType,
      scriptId: c.scriptId ?? null,
      scriptVersion: c.scriptVersion === undefined ? null : String(c.scriptVersion),
      startedAt: (c.startedAt ?? now).toISOString(),
      endedAt: null,
      outcome: null,
      prompts: [],
      decisions: [],
      policyChecks: (c.policyChecks ?? []).map((p) => checkEntry(p, now)),
    };
    this.active.set(rec.callId, rec);
    this.unwritten.add(rec.callId);
    this.dirty.add(rec.callId);
    this.schedule();
    return structuredClone(rec);
  }

  addPrompt(callId: string, p: { promptId: string; text: string; playedMs: number; heardFully: boolean; at?: Date }): Promise<void> {
    return this.mutate(callId, (r) =>
      r.prompts.push({
        promptId: p.promptId,
        text: p.text,
        playedMs: Math.max(0, Math.round(p.playedMs)),
        heard: p.heardFully ? 'full' : 'interrupted',
        at: (p.at ?? this.now()).toISOString(),
      }),
    );
  }

  addDecision(callId: string, d: { evidenceId: string; decision: Decision; promptId?: string; at?: Date }): Promise<void> {
    return this.mutate(callId, (r) =>
      r.decisions.push({
        evidenceId: d.evidenceId,
        decision: d.decision,
        promptId: d.promptId ?? null,
        at: (d.at ?? this.now()).toISOString(),
      }),
    );
  }

  addPolicyCheck(callId: string, c: PolicyCheckInput): Promise<void> {
    return this.mutate(callId, (r) => r.policyChecks.push(checkEntry(c, this.now())));
  }

  /**
   * Sets outcome and end time. Written with the next batch, like every other update: a synchronous write per call
   * end stalled the event loop under load (consent evidence, which must be durable at once, has its own store).
   * `announce`: outbox rows announcing the end (the call_summary webhook, a refused start), written in the same
   * transaction as the record's final state — a crash loses both or neither.
   */
  finish(callId: string, outcome: CallOutcome, endedAt?: Date, announce: readonly OutboxRow[] = []): Promise<void> {
    const done = this.mutate(
      callId,
      (r) => {
        r.outcome = outcome;
        r.endedAt = (endedAt ?? this.now()).toISOString();
      },
      announce,
    );
    if (this.active.has(callId)) this.finished.add(callId);
    return done;
  }

  async get(callId: string): Promise<CallRecord | null> {
    const a = this.active.get(callId);
    if (a) return structuredClone(a);
    return this.repo.get(callId);
  }

  /** Newest first. */
  async list(q: { callee?: string; limit?: number } = {}): Promise<CallRecord[]> {
    await this.flush(); // in-flight calls must appear with their latest state
    const limit = Math.min(Math.max(Math.trunc(q.limit ?? 100), 1), 10_000);
    if (q.callee === undefined) return this.repo.list({ limit });
    // Every number the filter may stand for (two when ambiguous); an unreadable one matches records kept verbatim.
    const keys = numberReadings(q.callee, this.defaultCountry);
    const rows = (await Promise.all((keys.length ? keys : [q.callee]).map((k) => this.repo.list({ callee: k, limit })))).flat();
    if (keys.length > 1) rows.sort((a, b) => (a.startedAt === b.startedAt ? b.callId.localeCompare(a.callId) : b.startedAt.localeCompare(a.startedAt)));
    return rows.slice(0, limit);
  }

  /** Writes every pending change in one transaction (one fsync); waits for a write already in progress first. */
  async flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    while (this.writing) await this.writing.catch(() => undefined);
    if (this.dirty.size === 0 && this.announce.length === 0) return;
    const ids = [...this.dirty];
    this.dirty.clear();
    const announce = this.announce;
    this.announce = [];
    const batch = ids.flatMap((id) => {
      const rec = this.active.get(id);
      return rec ? [{ rec: structuredClone(rec), isNew: this.unwritten.has(id) }] : [];
    });
    const job = (async () => {
      try {
        const { existed } = await this.repo.write(batch, announce);
        for (const { rec, isNew } of batch) {
          const id = rec.callId;
          if (isNew) this.unwritten.delete(id);
          if (existed.includes(id)) {
            // Another record owns this callId: it stays as it was, and nothing of this call overwrites it.
            this.log.warn({ callId: id }, 'a call record with this id exists already: this call is not recorded');
            this.disowned.add(id);
            if (this.disowned.size > 10_000) this.disowned.delete(this.disowned.values().next().value!);
            this.active.delete(id);
            this.finished.delete(id);
            this.dirty.delete(id);
          } else if (this.finished.has(id) && !this.dirty.has(id)) {
            this.finished.delete(id);
            this.active.delete(id);
          }
        }
      } catch (e) {
        for (const id of ids) if (this.active.has(id)) this.dirty.add(id); // retry on the next flush
        this.announce.unshift(...announce);
        throw e;
      }
    })();
    this.writing = job;
    try {
      await job;
    } finally {
      this.writing = null;
    }
  }

  /** Flushes and stops the timer (shutdown). Calls still in flight stay in the database without an outcome. */
  async close(): Promise<void> {
    await this.flush();
    this.active.clear();
    await this.repo.close?.();
  }

  private async mutate(callId: string, fn: (r: CallRecord) => void, announce: readonly OutboxRow[] = []): Promise<void> {
    const a = this.active.get(callId);
    if (a) {
      fn(a);
      this.dirty.add(callId);
      this.announce.push(...announce);
      // Updates after the end of a call are rare and expected to be visible at once.
      if (this.finished.has(callId)) await this.flush();
      else this.schedule();
      return;
    }
    if (this.disowned.has(callId)) {
      // This call's record belongs to another call with the same id; what it announces still goes out.
      if (announce.length) {
        this.announce.push(...announce);
        this.schedule();
      }
      return;
    }
    // Not in flight here (finished, or started by another process or instance): read-modify-write.
    const rec = await this.repo.get(callId);
    if (!rec) {
      if (announce.length) await this.repo.write([], announce);
      throw new UnknownCallError(`no call record for ${callId}`);
    }
    fn(rec);
    await this.repo.write([{ rec, isNew: false }], announce);
  }

  private schedule(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.flush().catch((e: unknown) => this.log.error({ err: e }, 'call record flush failed'));
    }, this.flushIntervalMs);
    this.timer.unref(); // pending bookkeeping must not keep the process alive; shutdown calls close()
  }
}
