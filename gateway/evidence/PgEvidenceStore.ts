// Consent evidence of a fleet in PostgreSQL: ONE hash chain for every instance. An append takes a transaction-scoped
// advisory lock, reads the head, seals the next record with the engine-neutral sealRecord (chain.ts) and inserts it
// together with its WAV (table evidence_audio) in the same transaction; the lock serialises appends from every
// instance, and the primary key on seq and the unique prevHash make a fork impossible even without it. The commit is
// durable (synchronous_commit) before append() resolves, so a decision is reported only once it is evidence; an
// instance killed at any moment leaves either the whole record with its audio (and the webhook announcing it, in
// the fleet's outbox) or nothing.
// Every instance signs with the same key (EARSHOT_EVIDENCE_KEY or evidence.keyFile, never generated here: a key
// per instance would split the chain's MACs) and checkpoints the heads it appends to its own file (checkpoint.ts).
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { rootLogger } from '../ops/log.js';
import type { PgMigrationSet, Postgres } from '../store/postgres/Postgres.js';
import { writePgOutboxRows } from '../webhooks/PgWebhookOutbox.js';
import type { Announce } from '../webhooks/WebhookOutbox.js';
import { sealRecord } from './chain.js';
import type { ChainHead } from './checkpoint.js';
import { CheckpointLog } from './CheckpointLog.js';
import { parseEvidenceConfig, type EvidenceConfig } from './config.js';
import { draftRecord } from './draft.js';
import type { EvidenceLedger, StoredEvidence } from './EvidenceLedger.js';
import { loadEvidenceKeys } from './keyFile.js';
import type { Keyring } from './keyring.js';
import { PgPageReader } from './pgPageReader.js';
import type { Decision, EvidenceInput, EvidenceRecord, VerifyResult } from './types.js';
import { verifyChain, type VerifyOptions } from './verify.js';

const log = rootLogger.child({ mod: 'evidence' });

/** pg_advisory_xact_lock key of the chain: one lock for the fleet's one chain. */
export const EVIDENCE_CHAIN_LOCK = 0x65766964; // 'evid'

export const PG_EVIDENCE_MIGRATIONS: PgMigrationSet = {
  module: 'evidence',
  steps: [
    // Column names are the EvidenceRecord field names (quoted), so `SELECT *` maps onto the canonical form exactly
    // as the SQLite table does; DOUBLE PRECISION and BOOLEAN read back as the numbers and booleans that were hashed.
    `CREATE TABLE evidence (
      seq BIGINT PRIMARY KEY,
      id TEXT NOT NULL UNIQUE,
      format INTEGER NOT NULL,
      "callId" TEXT NOT NULL,
      callee TEXT,
      "promptId" TEXT,
      "promptText" TEXT,
      decision TEXT NOT NULL CHECK (decision IN ('granted', 'refused', 'unclear')),
      phrase TEXT,
      transcript TEXT NOT NULL,
      confidence DOUBLE PRECISION NOT NULL,
      complaint BOOLEAN NOT NULL,
      "speechStartT" DOUBLE PRECISION,
      "speechEndT" DOUBLE PRECISION NOT NULL,
      "decidedT" DOUBLE PRECISION NOT NULL,
      "wallTime" TEXT NOT NULL,
      "storedAt" TEXT NOT NULL,
      "audioFile" TEXT,
      "audioSha256" TEXT,
      "audioSampleRate" INTEGER,
      "audioSamples" INTEGER,
      model TEXT NOT NULL,
      mode TEXT NOT NULL,
      "prevHash" TEXT NOT NULL UNIQUE,
      hash TEXT NOT NULL UNIQUE,
      "keyId" TEXT,
      mac TEXT
    );
    CREATE INDEX evidence_by_call ON evidence ("callId", seq);
    CREATE INDEX evidence_by_stored ON evidence ("storedAt");
    CREATE TABLE evidence_audio (
      id TEXT PRIMARY KEY REFERENCES evidence (id),
      wav BYTEA NOT NULL
    );
    -- Append-only inside the database as well; anyone who drops these is caught by the chain, the MACs and the
    -- checkpoints kept outside it.
    CREATE FUNCTION earshot_evidence_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      RAISE EXCEPTION 'evidence is append-only: % refused', TG_OP;
    END
    $$;
    CREATE TRIGGER evidence_append_only BEFORE UPDATE OR DELETE ON evidence FOR EACH ROW EXECUTE FUNCTION earshot_evidence_append_only();
    CREATE TRIGGER evidence_audio_append_only BEFORE UPDATE OR DELETE ON evidence_audio FOR EACH ROW EXECUTE FUNCTION earshot_evidence_append_only();
    CREATE TRIGGER evidence_no_truncate BEFORE TRUNCATE ON evidence FOR EACH STATEMENT EXECUTE FUNCTION earshot_evidence_append_only();
    CREATE TRIGGER evidence_audio_no_truncate BEFORE TRUNCATE ON evidence_audio FOR EACH STATEMENT EXECUTE FUNCTION earshot_evidence_append_only();`,
  ],
};

export const RECORD_COLUMNS = [
  'seq', 'id', 'format', 'callId', 'callee', 'promptId', 'promptText', 'decision', 'phrase', 'transcript',
  'confidence', 'complaint', 'speechStartT', 'speechEndT', 'decidedT', 'wallTime', 'storedAt', 'audioFile',
  'audioSha256', 'audioSampleRate', 'audioSamples', 'model', 'mode', 'prevHash', 'hash', 'keyId', 'mac',
] as const satisfies readonly (keyof EvidenceRecord)[];

export const SELECT_RECORD = RECORD_COLUMNS.map((c) => `e."${c}"`).join(', ');

type Row = Omit<EvidenceRecord, 'decision'> & { decision: string };

export function recordFromPgRow(r: Row): EvidenceRecord {
  const out = {} as Record<string, unknown>;
  for (const c of RECORD_COLUMNS) out[c] = (r as unknown as Record<string, unknown>)[c];
  return { ...(out as unknown as EvidenceRecord), decision: r.decision as Decision };
}

export interface PgEvidenceOptions {
  /** Local directory for this instance's checkpoint file (default `<dataDir>/evidence-checkpoints.jsonl`). */
  dataDir: string;
  config?: EvidenceConfig;
  keys: Keyring | null;
  /** Where this instance checkpoints the heads it appends; none for read-only use (CLI). */
  checkpoints?: CheckpointLog | null;
  now?: () => Date;
  /** The URL, for the synchronous page reader verification uses (never logged). */
  url: string;
  release?: () => Promise<void>;
}

export class PgEvidenceStore implements EvidenceLedger {
  readonly engine = 'postgres' as const;
  private readonly config: EvidenceConfig;
  private readonly now: () => Date;
  private sinceCheckpoint = 0;

  /**
   * The fleet's evidence store for a gateway: migrates, loads the shared MAC key (required: never created here),
   * refuses a key the chain's head was not signed with, and anchors the chain against this instance's last
   * checkpoint.
   */
  static async open(db: Postgres, opts: { url: string; dataDir: string; config?: unknown; env?: NodeJS.ProcessEnv; now?: () => Date; release?: () => Promise<void> }): Promise<PgEvidenceStore> {
    const config = parseEvidenceConfig(opts.config);
    await db.migrate([PG_EVIDENCE_MIGRATIONS]);
    const keys = loadEvidenceKeys({ env: opts.env ?? process.env, keyFile: config.keyFile, dbFile: join(resolve(opts.dataDir), 'earshot.db'), mayCreate: false, create: false });
    const cpFile = resolve(config.checkpointFile ?? join(opts.dataDir, 'evidence-checkpoints.jsonl'));
    const checkpoints = new CheckpointLog(cpFile, keys.ring.current, (e) => log.error({ err: e.message, file: cpFile }, 'evidence checkpoint write failed'));
    const store = new PgEvidenceStore(db, { url: opts.url, dataDir: opts.dataDir, config, keys: keys.ring, checkpoints, now: opts.now, release: opts.release });
    const head = await store.headRecord();
    if (head?.keyId && !keys.ring.get(head.keyId)) {
      checkpoints.close(null);
      throw new Error(
        `the fleet's evidence chain is signed with key ${head.keyId}, which is not in this instance's keyring (${keys.source}): every instance must use the same EARSHOT_EVIDENCE_KEY`,
      );
    }
    log.info({ keyId: keys.ring.current.id, keySource: keys.source, checkpointFile: cpFile, db: db.redacted, headSeq: head?.seq ?? 0 }, 'evidence store open (PostgreSQL, one chain for the fleet)');
    await store.anchorAtOpen();
    return store;
  }

  constructor(
    private readonly db: Postgres,
    private readonly opts: PgEvidenceOptions,
  ) {
    this.config = opts.config ?? parseEvidenceConfig({});
    this.now = opts.now ?? (() => new Date());
  }

  get location(): string {
    return this.db.redacted;
  }

  get keys(): Keyring | null {
    return this.opts.keys;
  }

  async append(input: EvidenceInput, announce?: Announce<EvidenceRecord>): Promise<EvidenceRecord> {
    const key = this.opts.keys?.current;
    if (!key) throw new Error('this evidence store has no MAC key: it cannot append');
    const { fields, wav } = draftRecord(input, this.now(), this.config.audioDir);
    const rec = await this.db.tx(async (c) => {
      await c.query('SELECT pg_advisory_xact_lock($1)', [EVIDENCE_CHAIN_LOCK]);
      const h = await c.query<ChainHead>('SELECT seq, hash FROM evidence ORDER BY seq DESC LIMIT 1');
      const sealed = sealRecord(fields, h.rows[0] ?? null, key);
      await c.query(
        `INSERT INTO evidence (${RECORD_COLUMNS.map((k) => `"${k}"`).join(', ')}) VALUES (${RECORD_COLUMNS.map((_, i) => `$${i + 1}`).join(', ')})`,
        RECORD_COLUMNS.map((k) => sealed[k]),
      );
      if (wav) await c.query('INSERT INTO evidence_audio (id, wav) VALUES ($1, $2)', [sealed.id, Buffer.from(wav.buffer, wav.byteOffset, wav.byteLength)]);
      if (announce) await writePgOutboxRows(c, announce(sealed));
      return sealed;
    });
    log.info({ callId: rec.callId, evidenceId: rec.id, decision: rec.decision, seq: rec.seq, hash: rec.hash }, 'evidence appended');
    if (++this.sinceCheckpoint >= this.config.checkpointEvery) {
      this.sinceCheckpoint = 0;
      this.opts.checkpoints?.write({ seq: rec.seq, hash: rec.hash });
    }
    return rec;
  }

  async get(id: string): Promise<EvidenceRecord | null> {
    const r = await this.db.query<Row>(`SELECT ${SELECT_RECORD} FROM evidence e WHERE e.id = $1`, [id]);
    return r.rows[0] ? recordFromPgRow(r.rows[0]) : null;
  }

  async listByCall(callId: string): Promise<EvidenceRecord[]> {
    const r = await this.db.query<Row>(`SELECT ${SELECT_RECORD} FROM evidence e WHERE e."callId" = $1 ORDER BY e.seq`, [callId]);
    return r.rows.map(recordFromPgRow);
  }

  async audio(id: string): Promise<Uint8Array | null> {
    const r = await this.db.query<{ wav: Buffer }>('SELECT wav FROM evidence_audio WHERE id = $1', [id]);
    return r.rows[0]?.wav ?? null;
  }

  async head(): Promise<ChainHead | null> {
    const h = await this.headRecord();
    return h ? { seq: h.seq, hash: h.hash } : null;
  }

  async at(seq: number): Promise<ChainHead | null> {
    return (await this.db.query<ChainHead>('SELECT seq, hash FROM evidence WHERE seq = $1', [seq])).rows[0] ?? null;
  }

  async firstSeqSince(sinceIso: string): Promise<number | null> {
    return (await this.db.query<{ s: number | null }>('SELECT MIN(seq) AS s FROM evidence WHERE "storedAt" >= $1', [sinceIso])).rows[0].s;
  }

  async *scan(fromSeq: number): AsyncIterable<StoredEvidence> {
    for (let from = fromSeq; ; ) {
      const r = await this.db.query<Row & { wav: Buffer | null }>(
        `SELECT ${SELECT_RECORD}, a.wav FROM evidence e LEFT JOIN evidence_audio a ON a.id = e.id WHERE e.seq >= $1 ORDER BY e.seq LIMIT 200`,
        [from],
      );
      if (!r.rows.length) return;
      for (const row of r.rows) {
        yield { record: recordFromPgRow(row), wav: row.wav };
        from = row.seq + 1;
      }
    }
  }

  /**
   * The whole chain through the engine-neutral verifyChain, which walks records synchronously: pages come from the
   * database through a worker (PgPageReader) and each record's WAV is put where checkRecord reads it. An audit
   * operation (CLI), proportional to the chain, never on a call's path.
   */
  async verify(opts: VerifyOptions = {}): Promise<VerifyResult> {
    const reader = await PgPageReader.start(this.opts.url);
    const wavPath = join(tmpdir(), `earshot-verify-${process.pid}-${Date.now()}.wav`);
    let current: { id: string; present: boolean } | null = null;
    const records = (function* () {
      for (let after = opts.after?.seq ?? 0; ; ) {
        const page = reader.page(after);
        if (!page.length) return;
        for (const { record, wav } of page) {
          if (wav) writeFileSync(wavPath, wav, { mode: 0o600 });
          else rmSync(wavPath, { force: true });
          current = { id: record.id, present: wav !== null };
          yield record;
          after = record.seq;
        }
      }
    })();
    try {
      return verifyChain(records, (r) => (r.audioFile === null || current?.id !== r.id || !existsSync(wavPath) ? null : wavPath), { keyring: this.keys, ...opts });
    } finally {
      records.return(undefined);
      rmSync(wavPath, { force: true });
      reader.close();
    }
  }

  /** Checkpoints the head and closes the checkpoint file; gives back the shared pool. */
  async close(): Promise<void> {
    const cps = this.opts.checkpoints;
    if (cps) cps.close(await this.head().catch(() => null));
    await this.opts.release?.();
  }

  private async headRecord(): Promise<{ seq: number; hash: string; keyId: string | null } | null> {
    return (await this.db.query<{ seq: number; hash: string; keyId: string | null }>('SELECT seq, hash, "keyId" FROM evidence ORDER BY seq DESC LIMIT 1')).rows[0] ?? null;
  }

  /** As EvidenceStore's: this instance's last checkpoint must still be in the chain; the head is checkpointed. */
  private async anchorAtOpen(): Promise<void> {
    const cps = this.opts.checkpoints;
    if (!cps) return;
    const head = await this.head();
    const last = CheckpointLog.readLast(cps.path);
    if (last) {
      const at = await this.at(last.seq);
      if (!at || at.hash !== last.hash) {
        log.error(
          { checkpointSeq: last.seq, checkpointHash: last.hash, headSeq: head?.seq ?? 0, file: cps.path },
          'evidence chain does not hold this instance\'s last checkpoint: records were removed or rewritten, or the database was restored from a backup; run `earshot evidence verify`',
        );
        return;
      }
    }
    if (head && (!last || last.seq !== head.seq || last.keyId !== this.keys?.current.id)) cps.writeSync(head);
  }
}
