import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  CallPolicy,
  CallRecordStore,
  SqlitePolicyStore,
  UnknownCallError,
  localMinutes,
  parsePolicyConfig,
  policyMigrations,
} from '../gateway/policy/index.js';
import { EVIDENCE_MIGRATIONS, EvidenceStore } from '../gateway/evidence/index.js';
import { AttemptWriter } from '../gateway/policy/AttemptWriter.js';
import { closeSharedDatabases, databasePath, openDatabase, sharedDatabase, type Db } from '../gateway/store/Database.js';

const CN = '+86 138-0013-8000';
const CN_NORM = '+8613800138000';
const US = '+1 (212) 555-0100';

/** A UTC instant given as Shanghai local time (UTC+8, no DST). */
function shanghai(day: number, hh: number, mm = 0): Date {
  return new Date(Date.UTC(2025, 5, 2 + day, hh - 8, mm));
}

let dir: string;
let db: Db;
let store: SqlitePolicyStore;
let policy: CallPolicy;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'earshot-policy-'));
  db = openDatabase({ dataDir: dir, migrations: [policyMigrations('CN')] });
  store = new SqlitePolicyStore(db);
  policy = new CallPolicy(store);
});

afterEach(() => {
  closeSharedDatabases();
  if (db.open) db.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('local time', () => {
  it('computes local time with DST', () => {
    expect(localMinutes(new Date('2025-06-03T02:00:00Z'), 'America/New_York')).toBe(22 * 60); // EDT
    expect(localMinutes(new Date('2025-01-16T03:00:00Z'), 'America/New_York')).toBe(22 * 60); // EST
    expect(localMinutes(shanghai(0, 0, 5), 'Asia/Shanghai')).toBe(5);
  });
});

describe('CallPolicy', () => {
  it('calling hours in the callee zone: Shanghai 08:30 rejected, 10:00 allowed for marketing', async () => {
    const early = await policy.check({ callee: CN, callType: 'marketing', now: shanghai(0, 8, 30) });
    expect(early).toMatchObject({ allowed: false, code: 'calling_hours' });
    expect(early.allowed === false && early.reason).toContain('08:30 in Asia/Shanghai');
    expect(await policy.check({ callee: CN, callType: 'marketing', now: shanghai(0, 10) })).toEqual({ allowed: true });
    expect(await policy.check({ callee: CN, callType: 'marketing', now: shanghai(0, 20) })).toMatchObject({ code: 'calling_hours' });
    expect(await policy.check({ callee: CN, callType: 'marketing', now: shanghai(0, 19, 59) })).toEqual({ allowed: true });
  });

  it('a multi-zone country is called only while every one of its zones is inside hours', async () => {
    // 22:00 New York: rejected, although it is 10:00 in Shanghai.
    const late = await policy.check({ callee: US, callType: 'marketing', now: new Date('2025-06-03T02:00:00Z') });
    expect(late).toMatchObject({ allowed: false, code: 'calling_hours' });
    expect(localMinutes(new Date('2025-06-03T02:00:00Z'), 'Asia/Shanghai')).toBe(600);
    // 10:00 New York is 05:00 in Honolulu: a US number (any of its zones) is not called yet.
    const morning = await policy.check({ callee: US, callType: 'marketing', now: new Date('2025-01-15T15:00:00Z') });
    expect(morning).toMatchObject({ allowed: false, code: 'calling_hours' });
    expect(morning.allowed === false && morning.reason).toMatch(/in (Pacific\/Honolulu|America\/Adak)/);
    // 15:00 New York = 10:00 Honolulu: daytime from coast to islands.
    expect(await policy.check({ callee: US, callType: 'marketing', now: new Date('2025-01-15T20:00:00Z') })).toEqual({ allowed: true });
    // An operator who knows the area code narrows it.
    const narrowed = new CallPolicy(store, parsePolicyConfig({ countryTimeZones: { '+1212': 'America/New_York' } }));
    expect(await narrowed.check({ callee: US, callType: 'marketing', now: new Date('2025-01-15T15:00:00Z') })).toEqual({ allowed: true });
  });

  it("the requested time zone only narrows: it must be inside hours there and in the number's zone", async () => {
    const t = shanghai(0, 10); // 03:00 London (BST)
    expect(await policy.check({ callee: CN, callType: 'marketing', now: t, timeZone: 'Europe/London' })).toMatchObject({ code: 'calling_hours' });
    // The finding: a +86 callee at 01:39 Shanghai with timeZone New York (13:39 there) was admitted.
    const night = await policy.check({ callee: CN, callType: 'marketing', now: new Date('2026-01-14T17:39:00Z'), timeZone: 'America/New_York' });
    expect(night).toMatchObject({ allowed: false, code: 'calling_hours' });
    expect(night.allowed === false && night.reason).toContain('01:39 in Asia/Shanghai');
    // Inside hours in both: allowed.
    expect(await policy.check({ callee: CN, callType: 'marketing', now: shanghai(0, 16), timeZone: 'Europe/London' })).toEqual({ allowed: true });
    // digits-only numbers are Chinese (policy.defaultCountry) and checked in Beijing time
    expect(await policy.check({ callee: '13800138000', callType: 'marketing', now: t })).toEqual({ allowed: true });
    expect(await policy.check({ callee: '13800138000', callType: 'marketing', now: shanghai(0, 7) })).toMatchObject({ code: 'calling_hours' });
    expect(await policy.check({ callee: CN, callType: 'marketing', now: t, timeZone: 'Mars/Olympus' })).toMatchObject({ allowed: false, code: 'calling_hours' });
  });

  it('notification hours are looser (08:00–21:00)', async () => {
    expect(await policy.check({ callee: CN, callType: 'notification', now: shanghai(0, 8, 30) })).toEqual({ allowed: true });
    expect(await policy.check({ callee: CN, callType: 'notification', now: shanghai(0, 20, 30) })).toEqual({ allowed: true });
    expect(await policy.check({ callee: CN, callType: 'notification', now: shanghai(0, 7, 59) })).toMatchObject({ code: 'calling_hours' });
    expect(await policy.check({ callee: CN, callType: 'notification', now: shanghai(0, 21) })).toMatchObject({ code: 'calling_hours' });
  });

  it('marketing caps: 1 per 24 h and 3 per 7 days, counting recorded attempts', async () => {
    const at = (d: number, h: number, m = 0) => shanghai(d, h, m);
    const go = async (now: Date, id: string) => {
      const r = await policy.check({ callee: CN, callType: 'marketing', now });
      if (r.allowed) await policy.recordCall(CN, 'marketing', id, now);
      return r;
    };
    expect(await go(at(0, 10), 'c1')).toEqual({ allowed: true });
    const second = await go(at(0, 15), 'x');
    expect(second).toMatchObject({ allowed: false, code: 'frequency_cap' });
    expect(second.allowed === false && second.reason).toContain('1 per 1 day');
    expect(await go(at(1, 9, 59), 'x')).toMatchObject({ code: 'frequency_cap' }); // 23h59 later
    expect(await go(at(1, 10, 1), 'c2')).toEqual({ allowed: true });
    expect(await go(at(2, 10, 2), 'c3')).toEqual({ allowed: true });
    const fourth = await go(at(3, 10, 3), 'x');
    expect(fourth).toMatchObject({ allowed: false, code: 'frequency_cap' });
    expect(fourth.allowed === false && fourth.reason).toContain('3 per 7 day');
    expect(await go(at(7, 10, 1), 'c4')).toEqual({ allowed: true }); // c1 left the 7-day window
    // caps are per callee and per type
    expect(await policy.check({ callee: '+8613900139000', callType: 'marketing', now: at(7, 11) })).toEqual({ allowed: true });
    expect(await policy.check({ callee: CN_NORM, callType: 'notification', now: at(7, 11) })).toEqual({ allowed: true });
  });

  it('notification cap is 5 per 24 h; formatting variants count as one callee', async () => {
    const variants = [CN, '13800138000', '0086 138 0013 8000', '8613800138000', '+86 (138) 00138000'];
    for (let i = 0; i < 5; i++) {
      const now = shanghai(0, 9, i);
      expect(await policy.check({ callee: variants[i], callType: 'notification', now })).toEqual({ allowed: true });
      await policy.recordCall(variants[i], 'notification', `n${i}`, now);
    }
    expect(await policy.check({ callee: CN, callType: 'notification', now: shanghai(0, 12) })).toMatchObject({
      code: 'frequency_cap',
    });
    expect(await store.countAttempts(CN_NORM, 'notification', 0, Date.now() + 1e12)).toBe(5);
  });

  it('checkAndRecord is atomic under concurrent starts', async () => {
    const now = shanghai(0, 11);
    const rs = await Promise.all(
      [1, 2, 3, 4].map((i) => policy.checkAndRecord({ callee: CN, callType: 'marketing', now, callId: `k${i}` })),
    );
    expect(rs.filter((r) => r.allowed)).toHaveLength(1);
    expect(rs.filter((r) => !r.allowed && r.code === 'frequency_cap')).toHaveLength(3);
    expect(await store.countAttempts(CN_NORM, 'marketing', 0, now.getTime())).toBe(1);
  });

  it('do-not-call blocks marketing; notifications only when configured', async () => {
    const now = shanghai(0, 10);
    const [e, ...more] = await policy.dnc.add(CN, 'said stop calling', 'refusal', 'call-9');
    expect(more).toEqual([]);
    expect(e).toMatchObject({ number: CN_NORM, source: 'refusal', callId: 'call-9' });
    expect(await policy.dnc.has('0086 13800138000')).toBe(true);
    for (const spelling of ['13800138000', '8613800138000', '138-0013-8000']) {
      expect(await policy.check({ callee: spelling, callType: 'marketing', now }), spelling).toMatchObject({ allowed: false, code: 'do_not_call' });
    }
    const r = await policy.check({ callee: CN_NORM, callType: 'marketing', now });
    expect(r).toMatchObject({ allowed: false, code: 'do_not_call' });
    expect(r.allowed === false && r.reason).toContain('refusal');
    // DNC wins over hours: reported even outside calling hours
    expect(await policy.check({ callee: CN, callType: 'marketing', now: shanghai(0, 3) })).toMatchObject({ code: 'do_not_call' });
    expect(await policy.check({ callee: CN, callType: 'notification', now })).toEqual({ allowed: true });

    const strict = new CallPolicy(store, parsePolicyConfig({ dncBlocksNotifications: true }));
    expect(await strict.check({ callee: CN, callType: 'notification', now })).toMatchObject({ code: 'do_not_call' });

    expect(await policy.dnc.remove('13800138000')).toBe(true); // any spelling removes it
    expect(await policy.dnc.remove(CN)).toBe(false);
    expect(await policy.check({ callee: CN, callType: 'marketing', now })).toEqual({ allowed: true });
  });

  it('DNC list pagination and validation', async () => {
    let t = Date.UTC(2025, 0, 1);
    const { DoNotCallList } = await import('../gateway/policy/index.js');
    const list = new DoNotCallList(store, () => new Date((t += 1000)));
    for (let i = 0; i < 5; i++) await list.add(`+86 1380013800${i}`, `r${i}`, i % 2 ? 'complaint' : 'admin');
    const page1 = await list.list({ limit: 2 });
    expect(page1.map((e) => e.number)).toEqual(['+8613800138004', '+8613800138003']); // newest first
    const page3 = await list.list({ limit: 2, offset: 4 });
    expect(page3.map((e) => e.reason)).toEqual(['r0']);
    await expect(list.add('not a number', 'x', 'admin')).rejects.toThrow(/not a phone number/);
    expect(await list.has('garbage')).toBe(false);
  });

  it('a missing callee: marketing refused; a notification only inside hours by default; configurable', async () => {
    const now = shanghai(0, 10);
    expect(await policy.check({ callType: 'marketing', now })).toMatchObject({ allowed: false, code: 'missing_callee' });
    expect(await policy.check({ callee: 'n/a', callType: 'notification', now })).toMatchObject({ code: 'missing_callee' });
    expect(await policy.check({ callee: '', callType: 'marketing', now })).toMatchObject({ code: 'missing_callee' });
    // Default: a notification without a callee is admitted in the daytime (default zone) and refused at night.
    expect(await policy.check({ callType: 'notification', now })).toEqual({ allowed: true });
    const night = await policy.check({ callType: 'notification', now: shanghai(0, 23) });
    expect(night).toMatchObject({ allowed: false, code: 'calling_hours' });
    expect(night.allowed === false && night.reason).toContain('23:00 in Asia/Shanghai');
    // A requested zone cannot move the night away, only narrow the day.
    expect(await policy.check({ callType: 'notification', now: shanghai(0, 23), timeZone: 'Europe/London' })).toMatchObject({ code: 'calling_hours' });
    expect(await policy.check({ callType: 'notification', now, timeZone: 'Europe/London' })).toMatchObject({ code: 'calling_hours' }); // 03:00 London

    const refuse = new CallPolicy(store, parsePolicyConfig({ withoutCallee: { notification: 'refuse' } }));
    expect(await refuse.check({ callType: 'notification', now })).toMatchObject({ code: 'missing_callee' });
    const anyTime = new CallPolicy(store, parsePolicyConfig({ withoutCallee: { notification: 'any_time' } }));
    expect(await anyTime.check({ callType: 'notification', now: shanghai(0, 3) })).toEqual({ allowed: true });
    const lax = new CallPolicy(store, parsePolicyConfig({ withoutCallee: { marketing: 'within_hours' } }));
    expect(await lax.check({ callType: 'marketing', now })).toEqual({ allowed: true });
    expect(await lax.check({ callType: 'marketing', now: shanghai(0, 22) })).toMatchObject({ code: 'calling_hours' });
    expect(() => parsePolicyConfig({ withoutCallee: { marketing: 'any_time' } })).toThrow(/withoutCallee.marketing/);
  });

  it('an ambiguous digits-only callee is refused; the DNC list takes every reading and will not remove on a guess', async () => {
    const de = new CallPolicy(store, parsePolicyConfig({ defaultCountry: 'DE', defaultTimeZone: 'Europe/Berlin' }));
    const now = new Date('2025-06-03T10:00:00Z'); // 12:00 Berlin
    const r = await de.check({ callee: '496217498687', callType: 'marketing', now });
    expect(r).toMatchObject({ allowed: false, code: 'ambiguous_callee' });
    expect(r.allowed === false && r.reason).toContain('+49496217498687 or +496217498687');
    const added = await de.dnc.add('496217498687', 'asked', 'admin');
    expect(added.map((e) => e.number)).toEqual(['+49496217498687', '+496217498687']);
    expect(await de.check({ callee: '+496217498687', callType: 'marketing', now })).toMatchObject({ code: 'do_not_call' });
    expect(await de.check({ callee: '0496217498687', callType: 'marketing', now })).toMatchObject({ code: 'do_not_call' });
    await expect(de.dnc.remove('496217498687')).rejects.toThrow(/E\.164/);
    expect(await de.dnc.remove('+496217498687')).toBe(true);
    expect(await de.dnc.has('496217498687')).toBe(true); // the other reading is still listed
  });

  it('config is validated and overridable', () => {
    expect(() => parsePolicyConfig({ hours: { marketing: { start: '9am', end: '20:00' } } })).toThrow(/policy.hours.marketing.start/);
    expect(() => parsePolicyConfig({ defaultTimeZone: 'Nowhere/Land' })).toThrow(/defaultTimeZone/);
    expect(() => parsePolicyConfig({ defaultCountry: 'XX' })).toThrow(/defaultCountry/);
    expect(() => parsePolicyConfig({ requireCalee: false })).toThrow(/requireCalee/); // unknown keys are refused
    expect(() => parsePolicyConfig({ countryTimeZones: { '86': 'Asia/Shanghai' } })).toThrow(/countryTimeZones/);
    const c = parsePolicyConfig({ countryTimeZones: { '+1': 'America/Los_Angeles', GB: ['Europe/London'] }, caps: { marketing: [{ max: 2, windowHours: 24 }] } });
    expect(c.caps.notification).toEqual([{ max: 5, windowHours: 24 }]);
    expect(c.defaultCountry).toBe('CN');
    const p = new CallPolicy(store, c);
    expect(p.zonesFor('+12125550100')).toEqual(['America/Los_Angeles']);
    expect(p.zonesFor('+442071234567', 'Europe/Paris')).toEqual(['Europe/London', 'Europe/Paris']);
    expect(p.zonesFor(null)).toEqual(['Asia/Shanghai']);
    expect(p.zonesFor('+80012345678')).toEqual(['Asia/Shanghai']); // no country: the default zone
  });
});

describe('CallRecordStore', () => {
  it('round-trips a call record, batching in-flight updates', async () => {
    const t0 = new Date('2025-06-02T02:00:00Z');
    const rec = new CallRecordStore(db, { flushIntervalMs: 20, now: () => t0 });
    rec.start({
      callId: 'call-1',
      callee: CN,
      callType: 'marketing',
      scriptId: 'promo',
      scriptVersion: 3,
      policyChecks: [{ allowed: true }],
    });
    rec.addPrompt('call-1', { promptId: 'greet', text: '您好', playedMs: 1800.4, heardFully: true });
    rec.addPrompt('call-1', { promptId: 'ask', text: '可以录音吗？', playedMs: 900, heardFully: false });
    rec.addDecision('call-1', { evidenceId: '01JXEVIDENCE', decision: 'granted', promptId: 'ask' });
    rec.addPolicyCheck('call-1', { allowed: false, code: 'calling_hours', reason: 'late' });

    const live = (await rec.get('call-1'))!;
    expect(live.prompts.map((p) => [p.promptId, p.playedMs, p.heard])).toEqual([
      ['greet', 1800, 'full'],
      ['ask', 900, 'interrupted'],
    ]);
    // not yet on disk, not even the start (no fsync per call start); a duplicate start is still refused
    expect(() => rec.start({ callId: 'call-1', callType: 'marketing' })).toThrow(/already exists/);
    const other = new BetterSqlite3(databasePath(dir), { readonly: true });
    const row = () => other.prepare("SELECT prompts FROM call_records WHERE callId='call-1'").get() as { prompts: string } | undefined;
    expect(row()).toBeUndefined();
    // Inserted with its updates by the timer (committed by the database's writer thread, which starts on first use).
    for (let waited = 0; !row() && waited < 5000; waited += 20) await new Promise((r) => setTimeout(r, 20));
    expect(JSON.parse(row()!.prompts)).toHaveLength(2);

    await rec.finish('call-1', 'completed', new Date('2025-06-02T02:03:00Z'));
    await rec.close();
    const fresh = new CallRecordStore(db);
    const got = (await fresh.get('call-1'))!;
    expect(got).toMatchObject({
      callId: 'call-1',
      callee: CN_NORM,
      callType: 'marketing',
      scriptId: 'promo',
      scriptVersion: '3',
      startedAt: '2025-06-02T02:00:00.000Z',
      endedAt: '2025-06-02T02:03:00.000Z',
      outcome: 'completed',
      decisions: [{ evidenceId: '01JXEVIDENCE', decision: 'granted', promptId: 'ask' }],
    });
    expect(got.policyChecks.map((c) => c.code)).toEqual([null, 'calling_hours']);
    expect(got.prompts).toHaveLength(2);
    other.close();
  });

  it('lists newest first, filters by callee, rejects unknown and duplicate calls', async () => {
    let t = Date.UTC(2025, 5, 2);
    const rec = new CallRecordStore(db, { now: () => new Date((t += 60_000)) });
    rec.start({ callId: 'a', callee: CN, callType: 'marketing' });
    rec.start({ callId: 'b', callee: US, callType: 'notification' });
    rec.start({ callId: 'c', callee: CN_NORM, callType: 'notification' });
    rec.addPrompt('c', { promptId: 'p', text: 't', playedMs: 10, heardFully: true });
    expect((await rec.list()).map((r) => r.callId)).toEqual(['c', 'b', 'a']);
    expect((await rec.list({ callee: '0086 138 0013 8000' })).map((r) => r.callId)).toEqual(['c', 'a']);
    expect((await rec.list({ callee: CN, limit: 1 }))[0].prompts).toHaveLength(1); // list flushes in-flight state
    await expect(rec.addPrompt('zzz', { promptId: 'p', text: 't', playedMs: 1, heardFully: true })).rejects.toThrow(UnknownCallError);
    expect(() => rec.start({ callId: 'a', callType: 'marketing' })).toThrow();
    await rec.finish('a', 'hung_up');
    // a late decision on a finished call is still recorded (written through)
    await rec.addDecision('a', { evidenceId: 'E2', decision: 'refused' });
    expect((await new CallRecordStore(db).get('a'))!.decisions.map((d) => d.evidenceId)).toEqual(['E2']);
    // a callId already stored keeps its record: a second store starting it again does not overwrite it
    const again = new CallRecordStore(db);
    again.start({ callId: 'a', callee: US, callType: 'notification' });
    await again.flush();
    await again.finish('a', 'completed'); // after its insert was refused: must not rewrite the stored record
    await again.addPrompt('a', { promptId: 'x', text: 'x', playedMs: 1, heardFully: true });
    expect(await new CallRecordStore(db).get('a')).toMatchObject({ callType: 'marketing', outcome: 'hung_up', prompts: [] });
    await rec.close();
  });
});

describe('shared database', () => {
  it('evidence and policy share one earshot.db handle with both migrations', async () => {
    const d2 = join(dir, 'shared');
    const ev = EvidenceStore.open({ dataDir: d2 });
    const pol = CallPolicy.open({ dataDir: d2 });
    expect(pol.store).toBeInstanceOf(SqlitePolicyStore);
    const modules = ev.db.prepare('SELECT module, MAX(version) v FROM schema_migrations GROUP BY module ORDER BY module').all();
    expect(modules).toEqual([
      { module: 'evidence', v: EVIDENCE_MIGRATIONS.steps.length },
      { module: 'policy', v: 2 },
    ]);
    await pol.dnc.add(CN, 'x', 'admin');
    expect(ev.db.prepare('SELECT COUNT(*) n FROM dnc').get()).toEqual({ n: 1 });
    await pol.close();
  });

  it('the attempt writer (worker thread, own connection) keeps check-and-record atomic and durable', async () => {
    const d3 = join(dir, 'writer');
    const pol = CallPolicy.open({ dataDir: d3 });
    const now = shanghai(0, 11);
    // Concurrent starts to one callee land in one group commit: each count sees the ones admitted before it.
    const rs = await Promise.all([1, 2, 3, 4, 5, 6].map((i) => pol.checkAndRecord({ callee: CN, callType: 'notification', now, callId: `w${i}` })));
    expect(rs.filter((r) => r.allowed)).toHaveLength(5);
    expect(rs.filter((r) => !r.allowed && r.code === 'frequency_cap')).toHaveLength(1);
    // Committed before the admissions resolved: a fresh connection sees all five.
    const other = new BetterSqlite3(databasePath(d3), { readonly: true });
    expect(other.prepare("SELECT COUNT(*) n FROM call_attempts WHERE callType = 'notification'").get()).toEqual({ n: 5 });
    other.close();
    // A writer that is gone fails the admission (the feature refuses the call) rather than admitting it unrecorded.
    await pol.close();
    const writer = new AttemptWriter(databasePath(d3));
    const reopened = new CallPolicy(new SqlitePolicyStore(sharedDatabase({ dataDir: d3 }), writer));
    await writer.close();
    await expect(reopened.checkAndRecord({ callee: '+8613900139000', callType: 'marketing', now, callId: 'gone' })).rejects.toThrow(/exited/);
  });
});
