// The same evidence tests on both engines (SQLite with WAV files, PostgreSQL with the WAV in the row's transaction),
// two stores on one database standing for two gateways: one chain, durable appends, tamper detection, export and
// offline verification of the export, and (PostgreSQL) an instance SIGKILLed mid-append.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  EVIDENCE_MIGRATIONS,
  EvidenceStore,
  evidenceCli,
  keyring,
  sha256Hex,
  type EvidenceInput,
  type Keyring,
} from '../gateway/evidence/index.js';
import type { EvidenceLedger } from '../gateway/evidence/EvidenceLedger.js';
import { exportEvidence, verifyExport } from '../gateway/evidence/export.js';
import { PgEvidenceStore } from '../gateway/evidence/PgEvidenceStore.js';
import { SqliteEvidenceLedger } from '../gateway/evidence/SqliteEvidenceLedger.js';
import { PROJECT_ROOT } from '../gateway/models.js';
import { openDatabase } from '../gateway/store/Database.js';
import { Postgres } from '../gateway/store/postgres/Postgres.js';
import { twoInstances, useCluster } from './helpers/postgres.js';

const cluster = useCluster();

function input(i: number, over: Partial<EvidenceInput> = {}): EvidenceInput {
  return {
    callId: `call-${i}`,
    callee: '+8613800138000',
    promptId: `p${i}`,
    promptText: '请问您是否同意本次通话录音？',
    decision: i % 3 === 0 ? 'refused' : 'granted',
    phrase: i % 3 === 0 ? '不同意' : '同意',
    transcript: i % 3 === 0 ? '我不同意' : '好的同意',
    confidence: 0.8 + i / 100,
    complaint: i === 4,
    speechStartT: i % 4 === 0 ? undefined : 1000 * i,
    speechEndT: 1000 * i + 640,
    decidedT: 1000 * i + 880.5,
    wallTime: new Date(Date.UTC(2026, 0, 14, 2, 0, i)).toISOString(),
    audio: i % 5 === 4 ? undefined : { sampleRate: 16000, samples: new Int16Array(4000 + i).map((_, k) => Math.round(4000 * Math.sin(k / (3 + i)))) },
    model: 'zipformer-test',
    mode: 'recognizer',
    ...over,
  };
}

interface Pair {
  a: EvidenceLedger;
  b: EvidenceLedger;
  keys: Keyring;
  keyHex: string;
  dataDir: string;
  /** Runs SQL with the append-only triggers out of the way, as a tamperer with database access would. */
  tamper: (sql: string) => Promise<void>;
  raw: (sql: string) => Promise<unknown>;
  env: Record<string, string>;
  close: () => Promise<void>;
}

interface Engine {
  name: string;
  pair(): Promise<Pair>;
}

const engines: Engine[] = [
  {
    name: 'sqlite',
    async pair() {
      const dataDir = mkdtempSync(join(tmpdir(), 'earshot-ev-'));
      const secret = randomBytes(32);
      const keys = keyring([secret]);
      const da = openDatabase({ dataDir, migrations: [EVIDENCE_MIGRATIONS] });
      const db = openDatabase({ dataDir });
      const a = new SqliteEvidenceLedger(new EvidenceStore(da, { dataDir, keys }), dataDir);
      const b = new SqliteEvidenceLedger(new EvidenceStore(db, { dataDir, keys }), dataDir);
      return {
        a,
        b,
        keys,
        keyHex: secret.toString('hex'),
        dataDir,
        env: { EARSHOT_DATA_DIR: dataDir },
        raw: async (sql) => da.exec(sql),
        tamper: async (sql) => {
          da.exec('DROP TRIGGER IF EXISTS evidence_no_update; DROP TRIGGER IF EXISTS evidence_no_delete');
          da.exec(sql);
        },
        close: async () => {
          da.close();
          db.close();
          rmSync(dataDir, { recursive: true, force: true });
        },
      };
    },
  },
  {
    name: 'postgres',
    async pair() {
      const dataDir = mkdtempSync(join(tmpdir(), 'earshot-ev-'));
      const { url, pa, pb, close } = await twoInstances(cluster());
      const secret = randomBytes(32);
      const env = { EARSHOT_EVIDENCE_KEY: secret.toString('hex') };
      const a = await PgEvidenceStore.open(pa, { url, dataDir: join(dataDir, 'a'), env });
      const b = await PgEvidenceStore.open(pb, { url, dataDir: join(dataDir, 'b'), env });
      return {
        a,
        b,
        keys: keyring([secret]),
        keyHex: secret.toString('hex'),
        dataDir,
        env: { EARSHOT_DATABASE_URL: url, EARSHOT_DATA_DIR: join(dataDir, 'a') },
        raw: (sql) => pa.query(sql),
        tamper: async (sql) => {
          await pa.query('ALTER TABLE evidence DISABLE TRIGGER USER');
          await pa.query('ALTER TABLE evidence_audio DISABLE TRIGGER USER');
          await pa.query(sql);
        },
        close: async () => {
          await a.close();
          await b.close();
          await close();
          rmSync(dataDir, { recursive: true, force: true });
        },
      };
    },
  },
];

async function cli(args: string[], env: Record<string, string>): Promise<{ code: number; out: string }> {
  const saved = { ...process.env };
  Object.assign(process.env, env);
  let out = '';
  try {
    const code = await evidenceCli(args, { out: (t) => (out += t), err: (t) => (out += t) });
    return { code, out };
  } finally {
    for (const k of Object.keys(env)) if (saved[k] === undefined) delete process.env[k];
    Object.assign(process.env, saved);
  }
}

describe.each(engines)('evidence on $name', (engine) => {
  it('appends from two instances at once form one gap-free chain; each record and its audio is read on the other', async () => {
    const p = await engine.pair();
    try {
      const recs = await Promise.all(Array.from({ length: 16 }, (_, i) => (i % 2 ? p.a : p.b).append(input(i))));
      expect(recs.map((r) => r.seq).sort((x, y) => x - y)).toEqual(Array.from({ length: 16 }, (_, i) => i + 1));
      const v = await p.b.verify();
      expect(v).toMatchObject({ ok: true, checked: 16, macs: 'checked' });
      const withAudio = recs.find((r) => r.audioFile !== null)!;
      const wav = await p.b.audio(withAudio.id);
      expect(sha256Hex(wav!)).toBe(withAudio.audioSha256);
      expect(await p.a.get(recs[3].id)).toEqual(recs[3]);
      expect((await p.a.listByCall('call-5')).map((r) => r.id)).toEqual([recs[5].id]);
      expect(await p.a.head()).toEqual({ seq: 16, hash: v.head!.hash });
      await expect(p.raw(`UPDATE evidence SET decision = 'granted'`)).rejects.toThrow(/append-only/);
      await expect(p.raw(`DELETE FROM evidence`)).rejects.toThrow(/append-only/);
    } finally {
      await p.close();
    }
  });

  it('verify names the first record a tamperer rewrote, even with its hash recomputed (the MAC catches it)', async () => {
    const p = await engine.pair();
    try {
      const recs = [];
      for (let i = 0; i < 5; i++) recs.push(await p.a.append(input(i)));
      // A refusal rewritten as a grant.
      await p.tamper(`UPDATE evidence SET decision = 'granted' WHERE seq = 4`);
      let v = await p.b.verify();
      expect(v.ok).toBe(false);
      expect(v.firstBad).toMatchObject({ id: recs[3].id, seq: 4 });
      expect(v.firstBad!.reason).toMatch(/hash mismatch/);
      const { recordHash } = await import('../gateway/evidence/canonical.js');
      const forged = { ...recs[3], decision: 'granted' as const };
      await p.tamper(`UPDATE evidence SET hash = '${recordHash(forged)}' WHERE seq = 4`);
      v = await p.b.verify();
      expect(v.firstBad).toMatchObject({ id: recs[3].id });
      expect(v.firstBad!.reason).toMatch(/MAC mismatch/);
    } finally {
      await p.close();
    }
  });

  it('exports a segment an auditor verifies offline, and the verification fails on an altered WAV or record', async () => {
    const p = await engine.pair();
    const out = mkdtempSync(join(tmpdir(), 'earshot-export-'));
    try {
      const recs = [];
      for (let i = 0; i < 8; i++) recs.push(await p.a.append(input(i)));
      const m = await exportEvidence(p.b, { outDir: join(out, 'x'), since: String(recs[3].seq) });
      expect(m).toMatchObject({ records: 5, first: { seq: 4 }, head: { seq: 8, hash: recs[7].hash }, after: { seq: 3, hash: recs[2].hash } });
      expect(m.audioFiles).toBe(recs.slice(3).filter((r) => r.audioFile).length);
      expect(m.checkpoint?.seq).toBe(8);
      expect(verifyExport(join(out, 'x'), { keyring: p.keys })).toMatchObject({ ok: true, checked: 5, macs: 'checked' });
      // Through the CLI, on whichever engine the environment names, and offline.
      const c = await cli(['export', '--out', join(out, 'y'), '--since', '2000-01-01'], { ...p.env, EARSHOT_EVIDENCE_KEY: p.keyHex });
      expect(c.out).toMatch(/exported 8 records/);
      expect(c.code).toBe(0);
      const ok = await cli(['verify', '--export', join(out, 'y')], { EARSHOT_EVIDENCE_KEY: p.keyHex });
      expect(ok.out).toMatch(/^ok: 8 exported records verified \(from the genesis\)/m);
      // An auditor recomputes a record with the documented canonical form alone.
      const line = JSON.parse(readFileSync(join(out, 'y', 'records.jsonl'), 'utf8').split('\n')[1]);
      const { hash, keyId: _k, mac: _m, ...fields } = line;
      const canonical = `{${Object.keys(fields).sort().map((k) => `${JSON.stringify(k)}:${JSON.stringify(fields[k])}`).join(',')}}`;
      expect(sha256Hex(canonical)).toBe(hash);
      // Altered audio, named.
      const victim = recs[5];
      writeFileSync(join(out, 'x', ...victim.audioFile!.split('/')), Buffer.from('RIFF....not the answer'));
      const bad = verifyExport(join(out, 'x'), { keyring: p.keys });
      expect(bad).toMatchObject({ ok: false, firstBad: { id: victim.id } });
      expect(bad.firstBad!.reason).toMatch(/audio file altered/);
      // A record line changed: the manifest's hash of records.jsonl no longer matches.
      const recordsFile = join(out, 'y', 'records.jsonl');
      writeFileSync(recordsFile, readFileSync(recordsFile, 'utf8').replace('"refused"', '"granted"'));
      expect((await cli(['verify', '--export', join(out, 'y')], { EARSHOT_EVIDENCE_KEY: p.keyHex })).code).toBe(1);
      // The live chain through the CLI, and one record with its audio.
      const live = await cli(['verify'], { ...p.env, EARSHOT_EVIDENCE_KEY: p.keyHex });
      expect(live.out).toMatch(/^ok: 8 records verified/m);
      expect(live.code).toBe(0);
      const show = await cli(['show', victim.id], { ...p.env, EARSHOT_EVIDENCE_KEY: p.keyHex });
      expect(show.code).toBe(0);
      expect(JSON.parse(show.out)).toMatchObject({ intact: true, problem: null, record: { id: victim.id, seq: victim.seq } });
    } finally {
      rmSync(out, { recursive: true, force: true });
      await p.close();
    }
  });
});

describe('evidence on postgres, an instance killed mid-append', () => {
  it('loses no record it reported, leaves no half record, and the chain still verifies', async () => {
    const url = await cluster().createDatabase();
    const dataDir = mkdtempSync(join(tmpdir(), 'earshot-ev-kill-'));
    const key = randomBytes(32).toString('hex');
    try {
      const r = spawnSync(process.execPath, ['--import', 'tsx', 'test/fixtures/evidence-pg-append-then-sigkill.ts', dataDir, '4'], {
        cwd: PROJECT_ROOT,
        env: { ...process.env, PG_URL: url, EARSHOT_EVIDENCE_KEY: key, EARSHOT_LOG_LEVEL: 'warn' },
        encoding: 'utf8',
        timeout: 60_000,
      });
      expect(r.signal).toBe('SIGKILL');
      const printed = [...r.stdout.matchAll(/APPENDED (\S+)/g)].map((m) => m[1]);
      expect(printed).toHaveLength(4);
      const db = new Postgres({ url });
      const store = await PgEvidenceStore.open(db, { url, dataDir: join(dataDir, 'check'), env: { EARSHOT_EVIDENCE_KEY: key } });
      try {
        for (const id of printed) expect(await store.get(id)).not.toBeNull();
        const orphans = await db.query(`SELECT count(*)::int AS n FROM evidence e LEFT JOIN evidence_audio a ON a.id = e.id WHERE a.id IS NULL AND e."audioFile" IS NOT NULL`);
        expect(orphans.rows[0].n).toBe(0);
        const v = await store.verify();
        expect(v.ok).toBe(true);
        expect([4, 5]).toContain(v.checked);
      } finally {
        await store.close();
        await db.close();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
