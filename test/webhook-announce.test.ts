// Every store that records what a webhook announces writes the outbox row in its own transaction, on both engines:
// the consent evidence record, the call record's final state (call_summary, a refused start) and a do-not-call
// entry commit together with their rows, and when the outbox insert fails the record is not stored either — so no
// crash between the two can leave a recorded fact unannounced.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EVIDENCE_MIGRATIONS, EvidenceStore, keyring, type EvidenceInput } from '../gateway/evidence/index.js';
import type { EvidenceLedger } from '../gateway/evidence/EvidenceLedger.js';
import { PgEvidenceStore } from '../gateway/evidence/PgEvidenceStore.js';
import { SqliteEvidenceLedger } from '../gateway/evidence/SqliteEvidenceLedger.js';
import { CallRecordStore, policyMigrations } from '../gateway/policy/index.js';
import type { CallRecordRepo } from '../gateway/policy/CallRecordRepo.js';
import { PgCallRecordRepo } from '../gateway/policy/PgCallRecordRepo.js';
import { PgPolicyStore } from '../gateway/policy/PgPolicyStore.js';
import type { PolicyStore } from '../gateway/policy/PolicyStore.js';
import { SqliteCallRecordRepo } from '../gateway/policy/SqliteCallRecordRepo.js';
import { SqlitePolicyStore } from '../gateway/policy/SqlitePolicyStore.js';
import { openDatabase } from '../gateway/store/Database.js';
import { PgWebhookOutbox } from '../gateway/webhooks/PgWebhookOutbox.js';
import { SqliteWebhookOutbox, WEBHOOK_MIGRATIONS } from '../gateway/webhooks/SqliteWebhookOutbox.js';
import type { OutboxRow, WebhookOutboxStore } from '../gateway/webhooks/WebhookOutbox.js';
import { twoInstances, useCluster } from './helpers/postgres.js';

const cluster = useCluster();

interface Stores {
  evidence: EvidenceLedger;
  records: CallRecordRepo;
  policy: PolicyStore;
  outbox: WebhookOutboxStore;
  /** Files under the data directory (SQLite keeps WAVs there). */
  wavs: () => string[];
  close: () => Promise<void>;
}

const engines: { name: string; open(): Promise<Stores> }[] = [
  {
    name: 'sqlite',
    async open() {
      const dataDir = mkdtempSync(join(tmpdir(), 'earshot-announce-'));
      const db = openDatabase({ dataDir, migrations: [EVIDENCE_MIGRATIONS, policyMigrations('CN'), WEBHOOK_MIGRATIONS] });
      return {
        evidence: new SqliteEvidenceLedger(new EvidenceStore(db, { dataDir, keys: keyring([randomBytes(32)]) }), dataDir),
        records: new SqliteCallRecordRepo(db, 'CN'),
        policy: new SqlitePolicyStore(db),
        outbox: new SqliteWebhookOutbox(db),
        wavs: () => (existsSync(join(dataDir, 'evidence')) ? readdirSync(join(dataDir, 'evidence'), { recursive: true }).map(String).filter((f) => f.endsWith('.wav')) : []),
        close: async () => {
          db.close();
          rmSync(dataDir, { recursive: true, force: true });
        },
      };
    },
  },
  {
    name: 'postgres',
    async open() {
      const dataDir = mkdtempSync(join(tmpdir(), 'earshot-announce-'));
      const { url, pa, close } = await twoInstances(cluster());
      const env = { EARSHOT_EVIDENCE_KEY: randomBytes(32).toString('hex') };
      const [evidence, records, policy, outbox] = await Promise.all([
        PgEvidenceStore.open(pa, { url, dataDir, env }),
        PgCallRecordRepo.open(pa),
        PgPolicyStore.open(pa),
        PgWebhookOutbox.open(pa),
      ]);
      return {
        evidence,
        records,
        policy,
        outbox,
        wavs: () => [],
        close: async () => {
          await evidence.close();
          await close();
          rmSync(dataDir, { recursive: true, force: true });
        },
      };
    },
  },
];

const decision: EvidenceInput = {
  callId: 'call-1',
  callee: '+8613800138000',
  promptId: 'consent',
  decision: 'granted',
  phrase: '同意',
  transcript: '好的同意',
  confidence: 0.91,
  complaint: false,
  speechEndT: 1640,
  decidedT: 1880,
  wallTime: '2026-01-14T02:00:00.000Z',
  audio: { sampleRate: 16000, samples: new Int16Array(3200).map((_, k) => Math.round(3000 * Math.sin(k / 5))) },
  model: 'zipformer-test',
  mode: 'recognizer',
};

let n = 0;
const row = (type: string, callId: string | null, data: Record<string, unknown>, id = `01TEST${String(++n).padStart(20, '0')}`): OutboxRow => ({
  id,
  type,
  callId,
  body: JSON.stringify({ id, type, createdAt: '2026-01-14T02:00:00.000Z', callId, data }),
  createdAt: 1_768_356_000_000 + n,
});

describe.each(engines)('announcements in the record transaction on $name', (engine) => {
  const withStores = (fn: (s: Stores) => Promise<void>) => async () => {
    const s = await engine.open();
    try {
      await fn(s);
    } finally {
      await s.close();
    }
  };

  it('a consent decision is stored with its webhook row, which names the sealed record', withStores(async ({ evidence, outbox }) => {
    let announced: OutboxRow | null = null;
    const rec = await evidence.append(decision, (r) => [(announced = row('consent', r.callId, { decision: r.decision, evidenceId: r.id, seq: r.seq }))]);
    expect(announced).not.toBeNull();
    const stored = await outbox.get(announced!.id);
    expect(stored).toMatchObject({ state: 'pending', type: 'consent', callId: 'call-1', attempts: 0 });
    expect(stored!.body).toBe(announced!.body);
    expect(JSON.parse(stored!.body).data).toEqual({ decision: 'granted', evidenceId: rec.id, seq: rec.seq });
    expect(await evidence.get(rec.id)).toMatchObject({ id: rec.id, hash: rec.hash });
  }));

  it('a consent decision whose webhook row cannot be written is not stored either (nor its audio)', withStores(async ({ evidence, outbox, wavs }) => {
    const first = await evidence.append(decision, () => [row('consent', 'call-1', {}, 'DUPLICATE-ID')]);
    const wavsBefore = wavs();
    // The second row's id is taken: the outbox insert fails inside the append's transaction.
    await expect(evidence.append({ ...decision, callId: 'call-2' }, () => [row('consent', 'call-2', {}, 'DUPLICATE-ID')])).rejects.toThrow();
    expect(await evidence.listByCall('call-2')).toEqual([]);
    expect(await evidence.head()).toEqual({ seq: first.seq, hash: first.hash });
    expect(wavs()).toEqual(wavsBefore);
    expect(await outbox.counts()).toEqual({ pending: 1, delivered: 0, dead: 0 });
    // The chain goes on from the same head: nothing half-written is left behind.
    const next = await evidence.append({ ...decision, callId: 'call-3' }, () => [row('consent', 'call-3', {})]);
    expect(next.seq).toBe(first.seq + 1);
    expect(next.prevHash).toBe(first.hash);
  }));

  it('a call\'s end is written with its call_summary row in one batch; a failed row rolls the batch back', withStores(async ({ records, outbox }) => {
    const store = new CallRecordStore(records, { flushIntervalMs: 60_000 });
    store.start({ callId: 'c-ok', callee: '+8613800138000', callType: 'marketing' });
    store.start({ callId: 'c-bad', callee: '+8613800138000', callType: 'marketing' });
    await store.flush();
    const ok = row('call_summary', 'c-ok', { reason: 'hangup' });
    void store.finish('c-ok', 'hung_up', undefined, [ok]);
    await store.flush();
    expect(await records.get('c-ok')).toMatchObject({ outcome: 'hung_up' });
    expect((await outbox.get(ok.id))?.body).toBe(ok.body);

    void store.finish('c-bad', 'completed', undefined, [row('call_summary', 'c-bad', {}, ok.id)]); // id taken
    await expect(store.flush()).rejects.toThrow();
    expect(await records.get('c-bad')).toMatchObject({ outcome: null, endedAt: null });
    expect(await outbox.counts()).toEqual({ pending: 1, delivered: 0, dead: 0 });
  }));

  it('a refused start for an id that already has a record is still announced', withStores(async ({ records, outbox }) => {
    const a = new CallRecordStore(records, { flushIntervalMs: 60_000 });
    a.start({ callId: 'dup', callType: 'marketing' });
    await a.flush();
    const b = new CallRecordStore(records, { flushIntervalMs: 60_000 });
    b.start({ callId: 'dup', callType: 'marketing' });
    const refused = row('rejected', 'dup', { reason: 'do_not_call' });
    void b.finish('dup', 'rejected_by_policy', undefined, [refused]);
    await b.flush();
    expect(await records.get('dup')).toMatchObject({ outcome: null }); // the first record is left as it was
    expect((await outbox.get(refused.id))?.state).toBe('pending');
  }));

  it('a do-not-call entry is added with its dnc_added row, or not at all', withStores(async ({ policy, outbox }) => {
    const entry = { number: '+8613800138001', reason: 'complaint: 别再打了', source: 'complaint' as const, callId: 'c1', addedAt: '2026-01-14T02:00:00.000Z' };
    const added = row('dnc_added', 'c1', { number: entry.number });
    await policy.addDnc(entry, [added]);
    expect(await policy.getDnc(entry.number)).toMatchObject({ number: entry.number, source: 'complaint' });
    expect((await outbox.get(added.id))?.body).toBe(added.body);

    await expect(policy.addDnc({ ...entry, number: '+8613800138002' }, [row('dnc_added', 'c1', {}, added.id)])).rejects.toThrow();
    expect(await policy.getDnc('+8613800138002')).toBeNull();
    expect(await outbox.counts()).toEqual({ pending: 1, delivered: 0, dead: 0 });
  }));
});
