// Append-only, hash-chained store of consent decisions plus the audio they were made on. append() is synchronous
// and durable on return because the caller tells the client "consent granted" only afterwards: a decision that left
// the gateway must already be evidence, even if the process dies on the next instruction.
import { unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { encodeWav } from '../audio/wav.js';
import { rootLogger } from '../ops/log.js';
import { migrate, sharedDatabase, type Db } from '../store/Database.js';
import { writeFileDurable } from './audioFile.js';
import { GENESIS_HASH, recordHash, sha256Hex } from './canonical.js';
import { parseEvidenceConfig, type EvidenceConfig } from './config.js';
import { EVIDENCE_MIGRATIONS } from './schema.js';
import {
  EVIDENCE_FORMAT,
  EvidenceInputSchema,
  type Decision,
  type EvidenceInput,
  type EvidenceRecord,
  type HashedFields,
  type VerifyResult,
} from './types.js';
import { ulid } from './ulid.js';
import { checkRecord, verifyChain } from './verify.js';

export interface EvidenceStoreOptions {
  /** Root that `audioFile` paths are relative to. */
  dataDir: string;
  config?: EvidenceConfig;
  /** Clock for `storedAt` and ids (tests). */
  now?: () => Date;
}

type Row = Omit<EvidenceRecord, 'complaint' | 'decision'> & { complaint: number; decision: string };

function fromRow(r: Row): EvidenceRecord {
  return { ...r, decision: r.decision as Decision, complaint: r.complaint === 1 };
}

const COLUMNS = [
  'seq', 'id', 'format', 'callId', 'callee', 'promptId', 'promptText', 'decision', 'phrase', 'transcript',
  'confidence', 'complaint', 'speechStartT', 'speechEndT', 'decidedT', 'wallTime', 'storedAt', 'audioFile',
  'audioSha256', 'audioSampleRate', 'audioSamples', 'model', 'mode', 'prevHash', 'hash',
] as const;

export class EvidenceStore {
  private readonly log = rootLogger.child({ mod: 'evidence' });
  private readonly config: EvidenceConfig;
  private readonly now: () => Date;
  private readonly stmts;

  /** Opens (or reuses) the process-wide database in `dataDir` and builds a store on it. */
  static open(opts: { dataDir: string; config?: unknown; now?: () => Date }): EvidenceStore {
    const config = parseEvidenceConfig(opts.config);
    const db = sharedDatabase({ dataDir: opts.dataDir, file: config.dbFile, migrations: [EVIDENCE_MIGRATIONS] });
    return new EvidenceStore(db, { dataDir: opts.dataDir, config, now: opts.now });
  }

  constructor(
    readonly db: Db,
    private readonly opts: EvidenceStoreOptions,
  ) {
    this.config = opts.config ?? parseEvidenceConfig({});
    this.now = opts.now ?? (() => new Date());
    if (!db.readonly) migrate(db, EVIDENCE_MIGRATIONS);
    this.stmts = {
      last: db.prepare('SELECT seq, hash FROM evidence ORDER BY seq DESC LIMIT 1'),
      insert: db.prepare(
        `INSERT INTO evidence (${COLUMNS.join(', ')}) VALUES (${COLUMNS.map((c) => `@${c}`).join(', ')})`,
      ),
      get: db.prepare('SELECT * FROM evidence WHERE id = ?'),
      byCall: db.prepare('SELECT * FROM evidence WHERE callId = ? ORDER BY seq'),
      all: db.prepare('SELECT * FROM evidence ORDER BY seq'),
    };
  }

  /**
   * Stores a decision. Order: WAV written + fsynced + renamed, then the row committed (WAL fsync, synchronous=FULL).
   * Throws on invalid input or I/O failure; then nothing was recorded and the caller must not report the decision.
   */
  append(input: EvidenceInput): EvidenceRecord {
    const inp = EvidenceInputSchema.parse(input);
    const now = this.now();
    const id = ulid(now.getTime());
    const storedAt = now.toISOString();

    let audioFile: string | null = null;
    let audioSha256: string | null = null;
    let abs: string | null = null;
    if (inp.audio) {
      const bytes = encodeWav({ sampleRate: inp.audio.sampleRate, samples: inp.audio.samples });
      audioFile = `${this.config.audioDir}/${storedAt.slice(0, 10)}/${id}.wav`;
      abs = join(this.opts.dataDir, audioFile);
      writeFileDurable(abs, bytes);
      audioSha256 = sha256Hex(bytes);
    }

    const base = {
      format: EVIDENCE_FORMAT,
      id,
      callId: inp.callId,
      callee: inp.callee ?? null,
      promptId: inp.promptId ?? null,
      promptText: inp.promptText ?? null,
      decision: inp.decision,
      phrase: inp.phrase,
      transcript: inp.transcript,
      confidence: inp.confidence,
      complaint: inp.complaint,
      speechStartT: inp.speechStartT ?? null,
      speechEndT: inp.speechEndT,
      decidedT: inp.decidedT,
      wallTime: inp.wallTime,
      storedAt,
      audioFile,
      audioSha256,
      audioSampleRate: inp.audio ? inp.audio.sampleRate : null,
      audioSamples: inp.audio ? inp.audio.samples.length : null,
      model: inp.model,
      mode: inp.mode,
    };

    // IMMEDIATE takes the write lock before reading the chain head, so two writers (processes) cannot both link to it.
    const insert = this.db.transaction((): EvidenceRecord => {
      const last = this.stmts.last.get() as { seq: number; hash: string } | undefined;
      const fields: HashedFields = { ...base, seq: (last?.seq ?? 0) + 1, prevHash: last?.hash ?? GENESIS_HASH };
      const rec: EvidenceRecord = { ...fields, hash: recordHash(fields) };
      this.stmts.insert.run({ ...rec, complaint: rec.complaint ? 1 : 0 });
      return rec;
    });
    try {
      const rec = insert.immediate();
      this.log.info({ callId: rec.callId, evidenceId: rec.id, decision: rec.decision, seq: rec.seq }, 'evidence appended');
      return rec;
    } catch (e) {
      if (abs) {
        try {
          unlinkSync(abs); // an orphan WAV without a row would only confuse an auditor
        } catch {
          /* already gone */
        }
      }
      throw e;
    }
  }

  get(id: string): EvidenceRecord | null {
    const r = this.stmts.get.get(id) as Row | undefined;
    return r ? fromRow(r) : null;
  }

  listByCall(callId: string): EvidenceRecord[] {
    return (this.stmts.byCall.all(callId) as Row[]).map(fromRow);
  }

  /** Absolute path of the record's WAV, or null when the record has none (or the id is unknown). */
  audioPath(id: string): string | null {
    const rec = this.get(id);
    return rec ? this.resolveAudio(rec) : null;
  }

  /** Checks one record's own hash and audio (not its chain position); null when intact. */
  checkOne(id: string): string | null {
    const rec = this.get(id);
    if (!rec) return `no evidence record ${id}`;
    return checkRecord(rec, (r) => this.resolveAudio(r));
  }

  /**
   * Walks the whole chain in seq order: recomputes every hash, checks every prevHash link and re-hashes every WAV.
   * Synchronous and proportional to the store's size — an audit/CLI operation, not for the call path.
   */
  verify(): VerifyResult {
    const rows = this.stmts.all.iterate() as IterableIterator<Row>;
    const records = (function* () {
      for (const r of rows) yield fromRow(r);
    })();
    try {
      return verifyChain(records, (r) => this.resolveAudio(r));
    } finally {
      records.return(undefined); // release the statement if verification stopped early
    }
  }

  private resolveAudio(rec: EvidenceRecord): string | null {
    return rec.audioFile === null ? null : join(this.opts.dataDir, ...rec.audioFile.split('/'));
  }
}
