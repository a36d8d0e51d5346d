// Outbound-calling rules checked at call start: do-not-call list, calling hours in the callee's zones, and frequency
// caps per callee and call type. Check order is DNC → hours → caps so the reason given is the most lasting one.
// Every number is read into E.164 first (number.ts), so no spelling of a number escapes the list or the caps.
import { sharedDatabase } from '../store/Database.js';
import { AttemptWriter } from './AttemptWriter.js';
import { parsePolicyConfig, type PolicyConfig } from './config.js';
import { DoNotCallList } from './DoNotCallList.js';
import { readNumber, type NumberReading } from './number.js';
import type { PolicyStore } from './PolicyStore.js';
import { policyMigrations } from './schema.js';
import { SqlitePolicyStore } from './SqlitePolicyStore.js';
import { formatMinutes, inWindow, localMinutes, numberTimeZones, parseHhMm } from './timeZone.js';
import type { CallType, FrequencyCap, PolicyCode, PolicyDecision, PolicyRequest } from './types.js';

const HOUR_MS = 3_600_000;

type Admission = { ok: false; decision: PolicyDecision } | { ok: true; callee: string | null; at: Date };

function refuse(code: PolicyCode, reason: string): Admission {
  return { ok: false, decision: { allowed: false, code, reason } };
}

export class CallPolicy {
  readonly dnc: DoNotCallList;
  readonly config: PolicyConfig;

  /**
   * Policy on the process-wide SQLite database in `dataDir` (`config` is the raw `policy` section). The durable
   * check-and-record of each admission runs in a worker thread (AttemptWriter); `close()` stops it.
   */
  static open(opts: { dataDir: string; file?: string; config?: unknown }): CallPolicy {
    const config = parsePolicyConfig(opts.config);
    const db = sharedDatabase({ dataDir: opts.dataDir, file: opts.file, migrations: [policyMigrations(config.defaultCountry)] });
    return new CallPolicy(new SqlitePolicyStore(db, db.memory ? null : new AttemptWriter(db.name), config.defaultCountry), config);
  }

  async close(): Promise<void> {
    await this.store.close?.();
  }

  constructor(
    readonly store: PolicyStore,
    config: PolicyConfig = parsePolicyConfig({}),
  ) {
    this.config = config;
    this.dnc = new DoNotCallList(store, undefined, config.defaultCountry);
  }

  /** Reads a number as every rule here does (policy.defaultCountry). */
  readNumber(input: string): NumberReading {
    return readNumber(input, this.config.defaultCountry);
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
    const r = this.readNumber(callee);
    if (r.kind === 'number') await this.store.recordAttempt({ callee: r.e164, callType, callId, at: at.getTime() });
  }

  /**
   * The zones the calling-hours rule checks: every zone of the number (defaultTimeZone when it has none or there is
   * no number), plus the requested one. The call must be inside hours in all of them.
   */
  zonesFor(callee: string | null, requested?: string): string[] {
    const zones = callee ? numberTimeZones(callee, this.config.countryTimeZones) : [];
    if (zones.length === 0) zones.push(this.config.defaultTimeZone);
    if (requested && !zones.includes(requested)) zones.push(requested);
    return zones;
  }

  private caps(callType: CallType): readonly FrequencyCap[] {
    return this.config.caps[callType];
  }

  /** Every rule except the frequency caps. */
  private async admit(req: PolicyRequest): Promise<Admission> {
    const at = req.now ?? new Date();
    let callee: string | null = null;
    if (req.callee !== undefined && req.callee.trim() !== '') {
      const r = this.readNumber(req.callee);
      if (r.kind === 'invalid') return refuse('missing_callee', `callee ${JSON.stringify(req.callee)}: ${r.reason}`);
      if (r.kind === 'ambiguous') {
        return refuse('ambiguous_callee', `callee ${JSON.stringify(req.callee)} may be ${r.readings.join(' or ')}; send it in E.164 (+<country code>…)`);
      }
      callee = r.e164;
    } else {
      const mode = this.config.withoutCallee[req.callType];
      if (mode === 'refuse') return refuse('missing_callee', `${req.callType} calls must name their callee`);
      if (mode === 'any_time') return { ok: true, callee: null, at }; // policy.withoutCallee.notification: any_time
    }

    if (callee && (req.callType === 'marketing' || this.config.dncBlocksNotifications)) {
      const e = await this.store.getDnc(callee);
      if (e) return refuse('do_not_call', `callee is on the do-not-call list (${e.source}${e.reason ? `: ${e.reason}` : ''}, since ${e.addedAt})`);
    }

    const w = this.config.hours[req.callType];
    const start = parseHhMm(w.start);
    const end = parseHhMm(w.end);
    for (const zone of this.zonesFor(callee, req.timeZone)) {
      let local: number;
      try {
        local = localMinutes(at, zone);
      } catch {
        // An unknown zone means we cannot know the callee's time, so we cannot show the call is within hours.
        return refuse('calling_hours', `unknown time zone ${JSON.stringify(zone.slice(0, 64))}`);
      }
      if (!inWindow(local, start, end)) {
        return refuse('calling_hours', `${req.callType} calls are allowed ${w.start}–${w.end} callee time; it is ${formatMinutes(local)} in ${zone}`);
      }
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
