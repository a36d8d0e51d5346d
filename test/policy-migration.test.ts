// gateway/policy/renumber.ts through the policy schema's step 2: a database written before numbers were read into
// E.164 keeps its do-not-call list and caps working for every spelling.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CallPolicy, CallRecordStore, SqlitePolicyStore, parsePolicyConfig, policyMigrations } from '../gateway/policy/index.js';
import { migrate, openDatabase, type Db } from '../gateway/store/Database.js';

let dir: string;
let db: Db;

/** A database at policy schema version 1, as the previous release left it. */
function version1(): Db {
  const d = openDatabase({ dataDir: dir });
  migrate(d, { module: 'policy', steps: [policyMigrations('CN').steps[0]] });
  return d;
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'earshot-policy-mig-'));
  db = version1();
});

afterEach(() => {
  if (db.open) db.close();
  rmSync(dir, { recursive: true, force: true });
});

const noon = new Date('2025-06-03T04:00:00Z'); // 12:00 Shanghai

describe('stored-number migration', () => {
  it('folds old DNC spellings into one E.164 entry per number, keeping the latest, and they block every spelling', async () => {
    const dnc = db.prepare('INSERT INTO dnc (number, reason, source, callId, addedAt) VALUES (?, ?, ?, ?, ?)');
    dnc.run('13800138000', 'first ask', 'refusal', 'c1', '2025-01-01T00:00:00.000Z');
    dnc.run('+8613800138000', 'complained', 'complaint', 'c2', '2025-02-01T00:00:00.000Z');
    dnc.run('8613900139000', 'operator', 'admin', null, '2025-03-01T00:00:00.000Z');
    dnc.run('garbage', 'kept', 'admin', null, '2025-03-02T00:00:00.000Z');

    migrate(db, policyMigrations('CN'));
    const rows = db.prepare('SELECT number, reason, source FROM dnc ORDER BY number').all();
    expect(rows).toEqual([
      { number: '+8613800138000', reason: 'complained', source: 'complaint' },
      { number: '+8613900139000', reason: 'operator', source: 'admin' },
      { number: 'garbage', reason: 'kept', source: 'admin' },
    ]);
    const policy = new CallPolicy(new SqlitePolicyStore(db), parsePolicyConfig({}));
    for (const s of ['13800138000', '8613800138000', '+86 138 0013 8000', '13900139000']) {
      expect(await policy.check({ callee: s, callType: 'marketing', now: noon }), s).toMatchObject({ code: 'do_not_call' });
    }
  });

  it('rewrites attempts so that old spellings count against one cap; call records name the E.164 number', async () => {
    const at = noon.getTime() - 3_600_000;
    const ins = db.prepare('INSERT INTO call_attempts (callId, callee, callType, at) VALUES (?, ?, ?, ?)');
    ins.run('a1', '13700000001', 'notification', at);
    ins.run('a2', '8613700000001', 'notification', at + 1);
    ins.run('a3', '+8613700000001', 'notification', at + 2);
    ins.run('a4', '+86 137 0000 0001', 'notification', at + 3);
    db.prepare("INSERT INTO call_records (callId, callee, callType, startedAt) VALUES ('r1', '13700000001', 'notification', '2025-06-03T03:00:00.000Z')").run();

    migrate(db, policyMigrations('CN'));
    expect(db.prepare('SELECT DISTINCT callee FROM call_attempts').all()).toEqual([{ callee: '+8613700000001' }]);
    const policy = new CallPolicy(new SqlitePolicyStore(db), parsePolicyConfig({}));
    // Four attempts already: the fifth is the last the 5-per-day notification cap allows.
    expect(await policy.checkAndRecord({ callee: '13700000001', callType: 'notification', callId: 'n5', now: noon })).toEqual({ allowed: true });
    expect(await policy.checkAndRecord({ callee: '8613700000001', callType: 'notification', callId: 'n6', now: noon })).toMatchObject({ code: 'frequency_cap' });
    const records = new CallRecordStore(db);
    expect(records.get('r1')!.callee).toBe('+8613700000001');
    expect(records.list({ callee: '+86 137 0000 0001' }).map((r) => r.callId)).toEqual(['r1']);
    records.close();
  });

  it('an ambiguous stored number is listed, and its attempts counted, under every reading', () => {
    db.prepare("INSERT INTO dnc (number, reason, source, callId, addedAt) VALUES ('496217498687', 'r', 'admin', NULL, '2025-01-01T00:00:00.000Z')").run();
    db.prepare("INSERT INTO call_attempts (callId, callee, callType, at) VALUES ('x', '496217498687', 'marketing', 1)").run();
    migrate(db, policyMigrations('DE'));
    expect(db.prepare('SELECT number FROM dnc ORDER BY number').all()).toEqual([{ number: '+49496217498687' }, { number: '+496217498687' }]);
    expect(db.prepare('SELECT callee FROM call_attempts ORDER BY callee').all()).toEqual([{ callee: '+49496217498687' }, { callee: '+496217498687' }]);
  });

  it('runs once: a later start with another default country leaves the E.164 rows alone', () => {
    db.prepare("INSERT INTO dnc (number, reason, source, callId, addedAt) VALUES ('13800138000', 'r', 'admin', NULL, '2025-01-01T00:00:00.000Z')").run();
    migrate(db, policyMigrations('CN'));
    migrate(db, policyMigrations('US'));
    expect(db.prepare('SELECT number FROM dnc').all()).toEqual([{ number: '+8613800138000' }]);
    expect(db.prepare("SELECT MAX(version) v FROM schema_migrations WHERE module = 'policy'").get()).toEqual({ v: 2 });
  });
});
