// One record per call: who, which script, what was played and how far it was heard, which consent decisions were
// taken (evidence ids) and what the policy said. Per-prompt updates are frequent across thousands of calls and every
// commit costs an fsync (synchronous=FULL), so every change, the record's creation included, is batched into one
// transaction per flush interval: at 20 call starts a second, an fsync per start held the event loop for
// milliseconds each. The legally relevant parts are durable elsewhere at once (consent decisions in the evidence
// store, the frequency-cap attempt in the policy store), so a crash loses at most the last interval of bookkeeping.
import type { Decision } from '../evidence/types.js';
import { rootLogger } from '../ops/log.js';
import { migrate, type Db } from '../store/Database.js';
import { DEFAULT_COUNTRY, normalizeNumber, numberReadings, type CountryCode } from './number.js';
import { policyMigrations } from './schema.js';
import type { CallType, PolicyCode } from './types.js';

export interface PromptPlay {
  promptId: string;
  text: string;
  /** Milliseconds of the prompt actually played out. */
  playedMs: number;
  /** 'full' = played to the end; 'interrupted' = cut by barge-in or hang-up. */
  heard: 'full' | 'interrupted';
  at: string;
}

export interface DecisionRef {
  evidenceId: string;
  decision: Decision;
  promptId: string | null;
  at: string;
}

export interface PolicyCheckEntry {
  allowed: boolean;
  code: PolicyCode | null;
  reason: string | null;
  at: string;
}

export type CallOutcome = 'completed' | 'hung_up' | 'rejected_by_policy' | 'failed' | 'timeout' | (string & {});

export interface CallRecord {
  callId: string;
  callee: string | null;
  callType: CallType;
  scriptId: string | null;
  scriptVersion: string | null;
  startedAt: string;
  endedAt: string | null;
  outcome: CallOutcome | null;
  prompts: PromptPlay[];
  decisions: DecisionRef[];
  policyChecks: PolicyCheckEntry[];
}

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

interface Row {
  callId: string;
  callee: string | null;
  callType: string;
  scriptId: string | null;
  scriptVersion: string | null;
  startedAt: string;
  endedAt: string | null;
  outcome: string | null;
  prompts: string;
  decisions: string;
  policyChecks: string;
}

function fromRow(r: Row): CallRecord {
  return {
    ...r,
    callType: r.callType as CallType,
    prompts: JSON.parse(r.prompts) as PromptPlay[],
    decisions: JSON.parse(r.decisions) as DecisionRef[],
    policyChecks: JSON.parse(r.policyChecks) as PolicyCheckEntry[],
  };
}

function toRow(c: CallRecord): Row {
  return {
    ...c,
    prompts: JSON.stringify(c.prompts),
    decisions: JSON.stringify(c.decisions),
    policyChecks: JSON.stringify(c.policyChecks),
  };
}

function checkEntry(c: PolicyCheckInput, now: Date): PolicyCheckEntry {
  return { allowed: c.allowed, code: c.code ?? null, reason: c.reason ?? null, at: (c.at ?? now).toISOString() };
}

export class UnknownCallError extends Error {}

export class CallRecordStore {
  private readonly log = rootLogger.child({ mod: 'call-records' });
  private readonly active = new Map<string, CallRecord>();
  private readonly dirty = new Set<string>();
  /** Started calls whose row is not written yet: their first write is an INSERT. */
  private readonly unwritten = new Set<string>();
  /** Finished calls still waiting for their last batched write; they leave `active` once written. */
  private readonly finished = new Set<string>();
  private timer: NodeJS.Timeout | null = null;
  private readonly flushIntervalMs: number;
  private readonly now: () => Date;
  private readonly defaultCountry: CountryCode;
  private readonly s;

  /** `defaultCountry`: how digits-only callees are read (policy.defaultCountry). */
  constructor(
    private readonly db: Db,
    opts: { flushIntervalMs?: number; now?: () => Date; defaultCountry?: CountryCode } = {},
  ) {
    this.flushIntervalMs = opts.flushIntervalMs ?? 250;
    this.now = opts.now ?? (() => new Date());
    this.defaultCountry = opts.defaultCountry ?? DEFAULT_COUNTRY;
    if (!db.readonly) migrate(db, policyMigrations(this.defaultCountry));
    this.s = {
      insert: db.prepare(
        `INSERT INTO call_records (callId, callee, callType, scriptId, scriptVersion, startedAt, endedAt, outcome, prompts, decisions, policyChecks)
         VALUES (@callId, @callee, @callType, @scriptId, @scriptVersion, @startedAt, @endedAt, @outcome, @prompts, @decisions, @policyChecks)`,
      ),
      update: db.prepare(
        `UPDATE call_records SET endedAt = @endedAt, outcome = @outcome, prompts = @prompts, decisions = @decisions,
         policyChecks = @policyChecks WHERE callId = @callId`,
      ),
      get: db.prepare('SELECT * FROM call_records WHERE callId = ?'),
      list: db.prepare('SELECT * FROM call_records ORDER BY startedAt DESC, callId DESC LIMIT ?'),
      listByCallee: db.prepare('SELECT * FROM call_records WHERE callee = ? ORDER BY startedAt DESC, callId DESC LIMIT ?'),
    };
  }

  /** Creates the record (written with the next batch). Throws if the callId already has one. */
  start(c: CallStart): CallRecord {
    if (this.active.has(c.callId) || this.s.get.get(c.callId)) throw new Error(`call record ${c.callId} already exists`);
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

  addPrompt(callId: string, p: { promptId: string; text: string; playedMs: number; heardFully: boolean; at?: Date }): void {
    this.mutate(callId, (r) =>
      r.prompts.push({
        promptId: p.promptId,
        text: p.text,
        playedMs: Math.max(0, Math.round(p.playedMs)),
        heard: p.heardFully ? 'full' : 'interrupted',
        at: (p.at ?? this.now()).toISOString(),
      }),
    );
  }

  addDecision(callId: string, d: { evidenceId: string; decision: Decision; promptId?: string; at?: Date }): void {
    this.mutate(callId, (r) =>
      r.decisions.push({
        evidenceId: d.evidenceId,
        decision: d.decision,
        promptId: d.promptId ?? null,
        at: (d.at ?? this.now()).toISOString(),
      }),
    );
  }

  addPolicyCheck(callId: string, c: PolicyCheckInput): void {
    this.mutate(callId, (r) => r.policyChecks.push(checkEntry(c, this.now())));
  }

  /**
   * Sets outcome and end time. Written with the next batch, like every other update: a synchronous write per call
   * end stalled the event loop under load (consent evidence, which must be durable at once, has its own store).
   */
  finish(callId: string, outcome: CallOutcome, endedAt?: Date): void {
    this.mutate(callId, (r) => {
      r.outcome = outcome;
      r.endedAt = (endedAt ?? this.now()).toISOString();
    });
    if (this.active.has(callId)) this.finished.add(callId);
  }

  get(callId: string): CallRecord | null {
    const a = this.active.get(callId);
    if (a) return structuredClone(a);
    const r = this.s.get.get(callId) as Row | undefined;
    return r ? fromRow(r) : null;
  }

  /** Newest first. */
  list(q: { callee?: string; limit?: number } = {}): CallRecord[] {
    this.flush(); // in-flight calls must appear with their latest state
    const limit = Math.min(Math.max(Math.trunc(q.limit ?? 100), 1), 10_000);
    if (q.callee === undefined) return (this.s.list.all(limit) as Row[]).map(fromRow);
    // Every number the filter may stand for (two when ambiguous); an unreadable one matches records kept verbatim.
    const keys = numberReadings(q.callee, this.defaultCountry);
    const rows = (keys.length ? keys : [q.callee]).flatMap((k) => this.s.listByCallee.all(k, limit) as Row[]);
    if (keys.length > 1) rows.sort((a, b) => (a.startedAt === b.startedAt ? b.callId.localeCompare(a.callId) : b.startedAt.localeCompare(a.startedAt)));
    return rows.slice(0, limit).map(fromRow);
  }

  /** Writes every pending change in one transaction (one fsync). */
  flush(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.dirty.size === 0) return;
    const ids = [...this.dirty];
    this.dirty.clear();
    try {
      this.db.transaction(() => {
        for (const id of ids) {
          const r = this.active.get(id);
          if (r) this.write(r);
        }
      })();
      for (const id of ids) {
        this.unwritten.delete(id);
        if (this.finished.delete(id)) this.active.delete(id);
      }
    } catch (e) {
      for (const id of ids) if (this.active.has(id)) this.dirty.add(id); // retry on the next flush
      throw e;
    }
  }

  /** Flushes and stops the timer (shutdown). Calls still in flight stay in the database without an outcome. */
  close(): void {
    this.flush();
    this.active.clear();
  }

  private mutate(callId: string, fn: (r: CallRecord) => void, writeNow = false): void {
    const a = this.active.get(callId);
    if (a) {
      fn(a);
      // Updates after the end of a call are rare and expected to be visible at once.
      if (writeNow || this.finished.has(callId)) {
        this.dirty.delete(callId);
        this.write(a);
        this.unwritten.delete(callId);
        if (this.finished.delete(callId)) this.active.delete(callId);
      } else {
        this.dirty.add(callId);
        this.schedule();
      }
      return;
    }
    // Not in flight here (finished, or started by an earlier process): read-modify-write at once.
    const row = this.s.get.get(callId) as Row | undefined;
    if (!row) throw new UnknownCallError(`no call record for ${callId}`);
    const rec = fromRow(row);
    fn(rec);
    this.s.update.run(toRow(rec));
  }

  private write(r: CallRecord): void {
    if (this.unwritten.has(r.callId)) this.s.insert.run(toRow(r));
    else this.s.update.run(toRow(r));
  }

  private schedule(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      try {
        this.flush();
      } catch (e) {
        this.log.error({ err: e }, 'call record flush failed');
      }
    }, this.flushIntervalMs);
    this.timer.unref(); // pending bookkeeping must not keep the process alive; shutdown calls close()
  }
}
