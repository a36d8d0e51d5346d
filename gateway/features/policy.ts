// Outbound-calling rules at `start` (do-not-call list, calling hours in the callee's zones, frequency caps) and the
// per-call record (script + version, prompts and how much of each was heard, consent decisions with evidence ids,
// policy checks, outcome), plus the HTTP admin API: call records and the do-not-call list.
import type { Call, CallEvent } from '../call/Call.js';
import type { Gateway, Plugin } from '../Gateway.js';
import { HttpError, readJsonObject, sendJson } from '../ops/http.js';
import { AmbiguousNumberError, CallPolicy, CallRecordStore, InvalidNumberError, parsePolicyConfig, policyMigrations, type PolicyCheckInput } from '../policy/index.js';
import { PgCallRecordRepo } from '../policy/PgCallRecordRepo.js';
import { PgPolicyStore } from '../policy/PgPolicyStore.js';
import { parseScriptRef } from '../script/format.js';
import { sharedDatabase } from '../store/Database.js';
import { fleetDatabase } from '../store/engine.js';
import type { StartMessage } from '../call/start.js';
import type { WebhookAnnouncer } from '../webhooks/Announcer.js';

/**
 * `policy.clock` (optional, in the `policy` config section): `system` (default) or `fixed:<ISO time>` — a frozen
 * clock for tests and replays. Anything else stops start-up.
 */
export function parseClock(raw: unknown): () => Date {
  if (raw === undefined || raw === 'system') return () => new Date();
  if (typeof raw === 'string' && raw.startsWith('fixed:')) {
    const t = Date.parse(raw.slice(6));
    if (Number.isFinite(t)) return () => new Date(t);
  }
  throw new Error(`invalid policy configuration:\n  policy.clock: expected "system" or "fixed:<ISO 8601 time>", got ${JSON.stringify(raw)}`);
}

const OUTCOMES: Record<string, string> = { hangup: 'hung_up', client_gone: 'hung_up', script_end: 'completed' };

export class PolicyFeature implements Plugin {
  readonly name = 'policy';
  policy!: CallPolicy;
  records!: CallRecordStore;
  /** The policy clock; tests may replace it. */
  now: () => Date;
  private pending = new Map<string, { checks: PolicyCheckInput[]; at: number }>();
  private releaseDb: (() => Promise<void>) | null = null;

  private readonly announcer: WebhookAnnouncer | undefined;

  /** `announcer`: the webhook rows announcing call ends and refusals, written with the call records. */
  constructor(opts: { now?: () => Date; announcer?: WebhookAnnouncer } = {}) {
    this.now = opts.now ?? (() => new Date());
    this.announcer = opts.announcer;
  }

  async start(gw: Gateway): Promise<void> {
    const section = gw.config.policy as Record<string, unknown>;
    const { clock, ...rules } = section;
    if (clock !== undefined) this.now = parseClock(clock);
    const fleet = fleetDatabase(gw.config);
    if (fleet) {
      // A fleet: one do-not-call list, one attempt history and one set of call records for every instance.
      this.releaseDb = fleet.release;
      const config = parsePolicyConfig(rules);
      this.policy = new CallPolicy(await PgPolicyStore.open(fleet.pg), config);
      this.records = new CallRecordStore(await PgCallRecordRepo.open(fleet.pg), { now: () => this.now(), defaultCountry: config.defaultCountry });
    } else {
      this.policy = CallPolicy.open({ dataDir: gw.config.dataDir, config: rules });
      const country = this.policy.config.defaultCountry;
      this.records = new CallRecordStore(sharedDatabase({ dataDir: gw.config.dataDir, migrations: [policyMigrations(country)] }), {
        now: () => this.now(),
        defaultCountry: country,
      });
    }
    this.routes(gw);
  }

  async stop(): Promise<void> {
    await this.records?.close();
    await this.policy?.close();
    await this.releaseDb?.();
  }

  async admit(s: StartMessage, gw: Gateway): Promise<{ ok: true } | { ok: false; reason: string }> {
    const now = this.now();
    for (const [id, p] of this.pending) if (Date.now() - p.at > 60_000) this.pending.delete(id);
    // Every call goes through the policy, a notification without a callee too (policy.withoutCallee: by default
    // only inside notification hours, as neither the DNC list nor the caps can be checked without a number).
    let d: Awaited<ReturnType<CallPolicy['checkAndRecord']>>;
    try {
      d = await this.policy.checkAndRecord({ callee: s.callee, callType: s.callType, callId: s.callId, timeZone: s.timeZone, now });
    } catch (e) {
      // Fail closed: a call whose attempt could not be recorded might break a frequency cap.
      gw.log.error({ callId: s.callId, err: (e as Error).message }, 'policy store unavailable: call refused');
      return { ok: false, reason: 'policy_unavailable' };
    }
    if (!d.allowed) {
      gw.log.info({ callId: s.callId, code: d.code, reason: d.reason }, 'call refused by policy');
      this.recordRejection(s, 'rejected_by_policy', d.code, { allowed: false, code: d.code, reason: d.reason, at: now });
      return { ok: false, reason: d.code };
    }
    // From here on the call knows its callee in E.164 only: the call record, the consent evidence, a complaint's DNC
    // entry and /v1/calls all name the number the policy judged, however the client spelt it.
    const r = s.callee ? this.policy.readNumber(s.callee) : null;
    if (r?.kind === 'number') s.callee = r.e164;
    const check: PolicyCheckInput = r ? { allowed: true, at: now } : { allowed: true, reason: 'no callee: DNC and caps not applicable', at: now };
    this.pending.set(s.callId, { checks: [check], at: Date.now() });
    return { ok: true };
  }

  /**
   * A call that never started still gets a record saying why, and the `rejected` webhook (`reason`, as the client
   * is told) is written with it.
   */
  recordRejection(s: StartMessage, outcome: string, reason: string, check?: PolicyCheckInput): void {
    const ref = s.script ? parseScriptRef(s.script) : null;
    try {
      this.records.start({ callId: s.callId, callee: s.callee, callType: s.callType, scriptId: ref?.id, scriptVersion: ref?.version, policyChecks: check ? [check] : [] });
      const announce = this.announcer?.row('rejected', s.callId, { callId: s.callId, reason }) ?? [];
      void this.records.finish(s.callId, outcome, undefined, announce).catch(() => undefined);
    } catch {
      // The callId already has a record (a retried id): the original record stays as it was.
    }
  }

  callStarted(call: Call, gw: Gateway): void {
    const s = call.init.extra as StartMessage | undefined;
    const ref = typeof s?.script === 'string' ? parseScriptRef(s.script) : null;
    const p = this.pending.get(call.id);
    this.pending.delete(call.id);
    try {
      this.records.start({ callId: call.id, callee: call.init.callee, callType: call.init.callType, scriptId: ref?.id, scriptVersion: ref?.version, policyChecks: p?.checks ?? [] });
    } catch (e) {
      gw.log.warn({ callId: call.id, err: (e as Error).message }, 'cannot start call record');
      return;
    }
    const texts = new Map<string, string>();
    const failed = (e: unknown) => gw.log.error({ callId: call.id, err: (e as Error).message }, 'call record update failed');
    call.observe((ev: CallEvent) => {
      try {
        if (ev.type === 'prompt_started') {
          const cur = call.playout.current;
          if (cur && cur.promptId === ev.promptId && cur.text) texts.set(cur.promptId, cur.text);
        } else if (ev.type === 'prompt_finished') {
          const id = String(ev.promptId);
          this.records.addPrompt(call.id, { promptId: id, text: texts.get(id) ?? '', playedMs: Number(ev.playedMs) || 0, heardFully: !ev.interrupted }).catch(failed);
          texts.delete(id);
        } else if (ev.type === 'consent' && typeof ev.evidenceId === 'string') {
          this.records.addDecision(call.id, { evidenceId: ev.evidenceId, decision: ev.decision as 'granted' | 'refused' | 'unclear', promptId: typeof ev.promptId === 'string' ? ev.promptId : undefined }).catch(failed);
        } else if (ev.type === 'call_summary') {
          const reason = String(ev.reason);
          // The call_summary webhook commits with the record's final state.
          this.records.finish(call.id, OUTCOMES[reason] ?? reason, undefined, this.announcer?.callEvent(call, ev) ?? []).catch(failed);
        }
      } catch (e) {
        gw.log.error({ callId: call.id, err: (e as Error).message }, 'call record update failed');
      }
    });
  }

  private routes(gw: Gateway): void {
    const r = gw.router;
    r.add('GET', '/v1/calls/:callId/record', async (_q, res, params) => {
      const rec = await this.records.get(params.callId);
      if (!rec) throw new HttpError(404, 'not_found', `no record for call ${params.callId}`);
      sendJson(res, 200, rec);
    });
    r.add('GET', '/v1/records', async (_q, res, _p, url) => {
      const callee = url.searchParams.get('callee') ?? undefined;
      const limit = Number(url.searchParams.get('limit') ?? 100);
      sendJson(res, 200, { records: await this.records.list({ callee, limit: Number.isFinite(limit) ? limit : 100 }) });
    });
    r.add('GET', '/v1/dnc', async (_q, res, _p, url) => {
      const limit = Number(url.searchParams.get('limit') ?? 100);
      const offset = Number(url.searchParams.get('offset') ?? 0);
      sendJson(res, 200, { entries: await this.policy.dnc.list({ limit: Number.isFinite(limit) ? limit : 100, offset: Number.isFinite(offset) ? offset : 0 }) });
    });
    r.add('POST', '/v1/dnc', async (req, res) => {
      const body = await readJsonObject(req);
      if (typeof body.number !== 'string') throw new HttpError(400, 'invalid_request', 'a JSON object with "number" (string) is required');
      const reason = typeof body.reason === 'string' ? body.reason.slice(0, 500) : 'added by operator';
      try {
        const entries = await this.policy.dnc.add(body.number, reason, 'admin');
        // An ambiguous number lists every reading; the answer names them all.
        sendJson(res, 201, entries.length === 1 ? entries[0] : { ...entries[0], readings: entries.map((e) => e.number) });
      } catch (e) {
        if (e instanceof InvalidNumberError) throw new HttpError(400, 'invalid_number', e.message);
        throw e;
      }
    });
    r.add('DELETE', '/v1/dnc/:number', async (_q, res, params) => {
      let removed: boolean;
      try {
        removed = await this.policy.dnc.remove(params.number);
      } catch (e) {
        if (e instanceof AmbiguousNumberError) throw new HttpError(400, 'ambiguous_number', e.message);
        throw e;
      }
      const r = this.policy.readNumber(params.number);
      const number = r.kind === 'number' ? r.e164 : params.number.slice(0, 64);
      if (!removed) throw new HttpError(404, 'not_found', `${number} is not on the do-not-call list`);
      sendJson(res, 200, { removed: true, number });
    });
  }
}
