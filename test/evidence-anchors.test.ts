// The evidence chain's anchors (gateway/evidence/keyring.ts, checkpoint.ts, CheckpointLog.ts, keyFile.ts): the two
// tamperings a bare hash chain misses — the newest record deleted, and a refused decision rewritten as granted with
// every later hash recomputed — are caught, and an untampered chain still verifies. Also: owner-only files.
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  EvidenceStore,
  evidenceCli,
  keyring,
  parseCheckpoints,
  recordHash,
  signCheckpoint,
  verifyChain,
  type EvidenceInput,
  type EvidenceRecord,
} from '../gateway/evidence/index.js';
import { closeSharedDatabases, databasePath } from '../gateway/store/Database.js';

let dir: string;
const CP = () => join(dir, 'evidence-checkpoints.jsonl');

function input(i: number, decision: 'granted' | 'refused' = i % 2 ? 'granted' : 'refused'): EvidenceInput {
  return {
    callId: `call-${i}`,
    callee: '+8613800138000',
    decision,
    phrase: decision === 'granted' ? '同意' : '不同意',
    transcript: decision === 'granted' ? '好的同意' : '我不同意',
    confidence: 0.9,
    complaint: false,
    speechEndT: 1000 + i,
    decidedT: 1200 + i,
    wallTime: new Date(Date.UTC(2026, 0, 14, 3, 0, i)).toISOString(),
    audio: { sampleRate: 16000, samples: new Int16Array(1600).map((_, k) => Math.round(2000 * Math.sin(k / (3 + i)))) },
    model: 'test-model',
    mode: 'recognizer',
  };
}

/** A gateway-like store: key generated beside the database, checkpoints after every record. */
function open(config: Record<string, unknown> = {}, env: NodeJS.ProcessEnv = {}): EvidenceStore {
  return EvidenceStore.open({ dataDir: dir, config, env });
}

/** The tamperer: full write access to earshot.db, none to the key. */
function tamper(fn: (db: BetterSqlite3.Database) => void): void {
  const db = new BetterSqlite3(databasePath(dir));
  db.exec('DROP TRIGGER IF EXISTS evidence_no_update; DROP TRIGGER IF EXISTS evidence_no_delete;');
  fn(db);
  db.close();
}

async function cli(args: string[]): Promise<{ code: number; out: string }> {
  let out = '';
  const code = await evidenceCli([...args, '--db', databasePath(dir)], { out: (t) => (out += t), err: (t) => (out += t) });
  return { code, out };
}

/** Closes the store the way shutdown does, then lets the test reopen everything. */
function shutdown(store: EvidenceStore): void {
  store.close();
  closeSharedDatabases();
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'earshot-anchors-'));
});

afterEach(() => {
  closeSharedDatabases();
  rmSync(dir, { recursive: true, force: true });
});

describe('evidence anchors', () => {
  it('an untampered chain verifies: MACs checked, anchored to its head by checkpoints', async () => {
    const store = open();
    const recs = [0, 1, 2, 3].map((i) => store.append(input(i)));
    expect(recs.every((r) => r.format === 2 && r.keyId === store.keys!.current.id && /^[0-9a-f]{64}$/.test(r.mac!))).toBe(true);
    shutdown(store);
    const { code, out } = await cli(['verify', '--json']);
    expect(code).toBe(0);
    const r = JSON.parse(out);
    expect(r).toMatchObject({ ok: true, checked: 4, macs: 'checked', head: { seq: 4, hash: recs[3].hash }, anchors: { anchoredTo: 4 } });
    expect(r.anchors.checkpoints).toBeGreaterThanOrEqual(1);
    expect(r.checkpointFile).toBe(CP());
  });

  it('catches the newest record deleted, by the checkpoint file and by --expect-head', async () => {
    const store = open();
    const recs = [0, 1, 2].map((i) => store.append(input(i)));
    shutdown(store);
    const before = await cli(['verify']);
    expect(before.code).toBe(0);
    const head = /head (\d+:[0-9a-f]{64})/.exec(before.out)![1];
    expect(head).toBe(`3:${recs[2].hash}`);

    tamper((db) => db.prepare('DELETE FROM evidence WHERE seq = 3').run());

    const byCheckpoint = await cli(['verify', '--json']);
    expect(byCheckpoint.code).toBe(1);
    expect(JSON.parse(byCheckpoint.out).firstBad.reason).toMatch(/records missing at the end: checkpoint .* names seq 3, but the chain ends at seq 2/);
    // Without the checkpoint file, the head noted earlier catches it.
    const byHead = await cli(['verify', '--no-checkpoints', '--expect-head', head]);
    expect(byHead.code).toBe(1);
    expect(byHead.out).toMatch(/FAILED for the chain .*the expected head names seq 3, but the chain ends at seq 2/);
    // And a gateway that starts on the truncated chain says so, and does not checkpoint over it.
    const lines = readFileSync(CP(), 'utf8');
    const reopened = open();
    expect(readFileSync(CP(), 'utf8')).toBe(lines);
    shutdown(reopened);
  });

  it('catches a refused decision rewritten as granted with every later hash recomputed', async () => {
    const store = open();
    const recs = [0, 1, 2, 3].map((i) => store.append(input(i)));
    expect(recs[0].decision).toBe('refused');
    shutdown(store);

    // Rewrite record 1 and re-chain 2..4 exactly as the store would, except for the MAC (no key).
    tamper((db) => {
      const rows = db.prepare('SELECT * FROM evidence ORDER BY seq').all() as (Omit<EvidenceRecord, 'complaint'> & { complaint: number })[];
      let prev = rows[0].prevHash;
      const upd = db.prepare('UPDATE evidence SET decision = ?, phrase = ?, transcript = ?, prevHash = ?, hash = ? WHERE seq = ?');
      for (const row of rows) {
        const rec = { ...row, complaint: row.complaint === 1, prevHash: prev };
        if (row.seq === 1) Object.assign(rec, { decision: 'granted', phrase: '同意', transcript: '好的同意' });
        const hash = recordHash(rec);
        upd.run(rec.decision, rec.phrase, rec.transcript, prev, hash, row.seq);
        prev = hash;
      }
    });

    // Hashes and links are consistent again: only the MAC (and the checkpoints) can tell.
    const noAnchors = await cli(['verify', '--json', '--no-checkpoints', '--key-file', join(dir, 'nonexistent')]);
    expect(noAnchors.code).toBe(2); // a named key that cannot be read is an error, not a silent weaker check
    const { code, out } = await cli(['verify', '--json', '--no-checkpoints']);
    expect(code).toBe(1);
    expect(JSON.parse(out)).toMatchObject({ ok: false, macs: 'checked', firstBad: { id: recs[0].id, seq: 1 } });
    expect(JSON.parse(out).firstBad.reason).toMatch(/MAC mismatch/);
    // Dropping the MACs (a downgrade to format 1) does not help: the hash covers the format, and a format-1 record
    // is only trusted under a signed checkpoint.
    tamper((db) => db.prepare('UPDATE evidence SET keyId = NULL, mac = NULL').run());
    const downgraded = await cli(['verify', '--json']);
    expect(downgraded.code).toBe(1);
    expect(JSON.parse(downgraded.out).firstBad.reason).toMatch(/format 2|MAC missing|checkpoint/);
  });

  it('without the key the MACs are not checked, and the report says so', async () => {
    const store = open();
    store.append(input(1));
    shutdown(store);
    rmSync(join(dir, 'evidence.key'));
    const { code, out } = await cli(['verify']);
    expect(code).toBe(0);
    expect(out).toContain('WARNING: no evidence key: MACs not checked');
  });

  it('refuses to mint a new key over a chain that was MAC\'d with a lost one', () => {
    const store = open();
    store.append(input(1));
    shutdown(store);
    rmSync(join(dir, 'evidence.key'));
    expect(() => open()).toThrow(/restore the key file/);
  });

  it('key rotation: new records use the new key, old ones verify with the retired key kept below it', async () => {
    const oldKey = randomBytes(32).toString('hex');
    const newKey = randomBytes(32).toString('hex');
    let store = open({}, { EARSHOT_EVIDENCE_KEY: oldKey });
    store.append(input(0));
    shutdown(store);
    store = open({}, { EARSHOT_EVIDENCE_KEY: `${newKey},${oldKey}` });
    const rec = store.append(input(1));
    expect(rec.keyId).toBe(keyring([Buffer.from(newKey, 'hex')]).current.id);
    expect(store.verify()).toMatchObject({ ok: true, macs: 'checked' });
    shutdown(store);
    // The rotation was checkpointed with the new key at start.
    const cps = parseCheckpoints(readFileSync(CP(), 'utf8')).checkpoints;
    expect(cps.map((c) => [c.seq, c.keyId])).toContainEqual([1, rec.keyId]);
    // With only the new key, the old record's MAC cannot be checked: that is a failure, not a pass.
    const keyFile = join(dir, 'new-only.key');
    writeFileSync(keyFile, `${newKey}\n`, { mode: 0o600 });
    const { code, out } = await cli(['verify', '--json', '--key-file', keyFile]);
    expect(code).toBe(1);
    expect(JSON.parse(out).firstBad.reason).toMatch(/not in the keyring/);
  });

  it('a forged or foreign checkpoint fails verification', () => {
    const ring = keyring([randomBytes(32)]);
    const store = open({}, { EARSHOT_EVIDENCE_KEY: ring.current.secret.toString('hex') });
    const recs = [0, 1].map((i) => store.append(input(i)));
    const records = [...store.listByCall('call-0'), ...store.listByCall('call-1')];
    const audio = (r: EvidenceRecord) => join(dir, r.audioFile!);
    const good = signCheckpoint({ seq: 2, hash: recs[1].hash }, ring.current, new Date());
    expect(verifyChain(records, audio, { keyring: ring, checkpoints: [good] })).toMatchObject({ ok: true, anchors: { anchoredTo: 2 } });
    const forged = { ...good, seq: 1 };
    expect(verifyChain(records, audio, { keyring: ring, checkpoints: [forged] }).firstBad!.reason).toMatch(/bad MAC/);
    const foreign = signCheckpoint({ seq: 2, hash: recs[1].hash }, keyring([randomBytes(32)]).current, new Date());
    expect(verifyChain(records, audio, { keyring: ring, checkpoints: [foreign] }).firstBad!.reason).toMatch(/not in the keyring/);
    const wrongHash = signCheckpoint({ seq: 1, hash: recs[1].hash }, ring.current, new Date());
    expect(verifyChain(records, audio, { keyring: ring, checkpoints: [wrongHash] }).firstBad).toMatchObject({ seq: 1 });
    shutdown(store);
  });

  it('checkpoint file: a torn last line is tolerated, garbage in the middle is not', () => {
    const ring = keyring([randomBytes(32)]);
    const a = JSON.stringify(signCheckpoint({ seq: 1, hash: 'a'.repeat(64) }, ring.current, new Date()));
    expect(parseCheckpoints(`${a}\n${a.slice(0, 30)}`)).toMatchObject({ tornTail: true, problems: [] });
    expect(parseCheckpoints(`${a}\nnot json\n${a}\n`).problems).toHaveLength(1);
  });

  it('creates the database, its WAL/SHM, evidence WAVs, the key and the checkpoints owner-only', () => {
    const store = open();
    const rec = store.append(input(1));
    const mode = (p: string) => statSync(p).mode & 0o777;
    for (const f of ['earshot.db', 'earshot.db-wal', 'earshot.db-shm', 'evidence.key', 'evidence-checkpoints.jsonl', rec.audioFile!]) {
      expect(mode(join(dir, f)).toString(8), f).toBe('600');
    }
    expect(mode(join(dir, 'evidence')).toString(8)).toBe('700');
    expect(mode(join(dir, rec.audioFile!, '..')).toString(8)).toBe('700');
    shutdown(store);
  });

  it('narrows a database file an older release left world-readable', () => {
    const store = open();
    shutdown(store);
    chmodSync(databasePath(dir), 0o644);
    const again = open();
    expect((statSync(databasePath(dir)).mode & 0o777).toString(8)).toBe('600');
    shutdown(again);
  });
});
