// Outbound-calling rules checked at call start: do-not-call list, calling hours in the callee's zone, and frequency
// caps per callee and call type. Check order is DNC → hours → caps so the reason given is the most lasting one.
import { sharedDatabase } from '../store/Database.js';
import { AttemptWriter } from './AttemptWriter.js';
import { parsePolicyConfig, type PolicyConfig } from './config.js';
import { DoNotCallList } from './DoNotCallList.js';
import { normalizeNumber } from './number.js';
import type { PolicyStore } from './PolicyStore.js';
import { POLICY_MIGRATIONS } from './schema.js';
import { SqlitePolicyStore } from './SqlitePolicyStore.js';
import { COUNTRY_TIME_ZONES, formatMinutes, inWindow, inferTimeZone, localMinutes, parseHhMm } from './timeZone.js';
import type { CallType, FrequencyCap, PolicyDecision, PolicyRequest } from './types.js';

const HOUR_MS = 3_600_000;

type Admission = { ok: false; decision: PolicyDecision } | { ok: true; callee: string | null; at: Date };

export class CallPolicy {
  readonly dnc: DoNotCallList;
  readonly config: PolicyConfig;
  private readonly zones: Readonly<Record<string, string>>;

  /**
   * Policy on the process-wide SQLite database in `dataDir` (`config` is the raw `policy` section). The durable
   * check-and-record of each admission runs in a worker thread (AttemptWriter); `close()` stops it.
   */
  static open(opts: { dataDir: string; file?: string; config?: unknown }): CallPolicy {
    const db = sharedDatabase({ dataDir: opts.dataDir, file: opts.file, migrations: [POLICY_MIGRATIONS] });
    return new CallPolicy(new SqlitePolicyStore(db, db.memory ? null : new AttemptWriter(db.name)), parsePolicyConfig(opts.config));
  }

  async close(): Promise<void> {
    await this.store.close?.();
  }

  constructor(
    readonly store: PolicyStore,
    config: PolicyConfig = parsePolicyConfig({}),
  ) {
    this.config = config;
    this.zones = { ...COUNTRY_TIME_ZONES, ...config.countryTimeZones };
    this.dnc = new DoNotCallList(store);
  }

  /** Decides whether the call may start. Does not record it: call recordCall (or use checkAndRecord). */
  async check(req: PolicyRequest): Promise<PolicyDecision> {
    const a = await this.admit(req);
    if (!a.ok) return a.decision;
    if (a.callee) {
      for (const cap of this.caps(req.callType)) {
        const n = await this.store.countAttempts(a.callee, req.callType, a.at.getTime() - cap.windowHours * HOUR_MS, a.at.getTime());
        if (n >= cap.max) return capRefusal(req.callType, cap);
      }
    }
    return { allowed: true };
  }

  /**
   * check + recordCall in one step, with the cap test and the attempt insert atomic in the store. Use this at call
   * start so concurrent starts to one callee cannot both pass the cap.
   */
  async checkAndRecord(req: PolicyRequest & { callId: string }): Promise<PolicyDecision> {
    const a = await this.admit(req);
    if (!a.ok) return a.decision;
    if (a.callee) {
      const full = await this.store.recordAttemptWithinCaps(
        { callee: a.callee, callType: req.callType, callId: req.callId, at: a.at.getTime() },
        this.caps(req.callType),
      );
      if (full) return capRefusal(req.callType, full);
    }
    return { allowed: true };
  }

  /** Records a call attempt at its start, so caps count attempts (answered or not). Invalid numbers are ignored. */
  async recordCall(callee: string, callType: CallType, callId: string, at: Date = new Date()): Promise<void> {
    const n = normalizeNumber(callee);
    if (n) await this.store.recordAttempt({ callee: n, callType, callId, at: at.getTime() });
  }

  /** The callee's zone as the policy would use it. */
  timeZoneFor(callee: string | undefined, requested?: string): string {
    const n = callee ? normalizeNumber(callee) : null;
    return requested ?? (n ? inferTimeZone(n, this.zones) : null) ?? this.config.defaultTimeZone;
  }

  private caps(callType: CallType): readonly FrequencyCap[] {
    return this.config.caps[callType];
  }

  /** Every rule except the frequency caps. */
  private async admit(req: PolicyRequest): Promise<Admission> {
    const at = req.now ?? new Date();
    const callee = req.callee ? normalizeNumber(req.callee) : null;
    if (!callee && this.config.requireCallee) {
      const reason = req.callee ? `callee ${JSON.stringify(req.callee)} is not a phone number` : 'no callee number given';
      return { ok: false, decision: { allowed: false, code: 'missing_callee', reason } };
    }

    if (callee && (req.callType === 'marketing' || this.config.dncBlocksNotifications)) {
      const e = await this.store.getDnc(callee);
      if (e) {
        const reason = `callee is on the do-not-call list (${e.source}${e.reason ? `: ${e.reason}` : ''}, since ${e.addedAt})`;
        return { ok: false, decision: { allowed: false, code: 'do_not_call', reason } };
      }
    }

    const zone = this.timeZoneFor(callee ?? undefined, req.timeZone);
    let local: number;
    try {
      local = localMinutes(at, zone);
    } catch {
      // An unknown zone means we cannot know the callee's time, so we cannot show the call is within hours.
      return { ok: false, decision: { allowed: false, code: 'calling_hours', reason: `unknown time zone ${JSON.stringify(zone)}` } };
    }
    const w = this.config.hours[req.callType];
    if (!inWindow(local, parseHhMm(w.start), parseHhMm(w.end))) {
      const reason = `${req.callType} calls are allowed ${w.start}–${w.end} callee time; it is ${formatMinutes(local)} in ${zone}`;
      return { ok: false, decision: { allowed: false, code: 'calling_hours', reason } };
    }
    return { ok: true, callee, at };
  }
}

function capRefusal(callType: CallType, cap: FrequencyCap): PolicyDecision {
  const win = cap.windowHours % 24 === 0 ? `${cap.windowHours / 24} day(s)` : `${cap.windowHours} h`;
  return {
    allowed: false,
    code: 'frequency_cap',
    reason: `${callType} calls to this callee are capped at ${cap.max} per ${win}; the cap is reached`,
  };
}
