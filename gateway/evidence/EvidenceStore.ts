// Append-only, hash-chained store of consent decisions plus the audio they were made on. append() (and the live
// path's appendAsync, off the event loop) is durable when it returns (resolves) because the caller tells the client "consent granted" only afterwards: a decision that left
// the gateway must already be evidence, even if the process dies on the next instruction. Each record carries a MAC
// made with a key kept outside the database, and the head is checkpointed to a file outside it (README.md): the
// chain logic is engine-neutral (chain.ts, verify.ts, checkpoint.ts); this file is only its SQLite storage.
import { unlinkSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { rootLogger } from '../ops/log.js';
import { databasePath, migrate, sharedDatabase, type Db } from '../store/Database.js';
import { SqliteWriter, WriterDied } from '../store/SqliteWriter.js';
import { outboxInsertSteps, outboxWritten, writeOutboxRows } from '../webhooks/SqliteWebhookOutbox.js';
import type { Announce } from '../webhooks/WebhookOutbox.js';
import { warmWavWriter, writeFileDurable, writeFileDurableOffThread } from './audioFile.js';
import { sealRecord } from './chain.js';
import { CheckpointLog } from './CheckpointLog.js';
import { parseEvidenceConfig, type EvidenceConfig } from './config.js';
import { draftRecord } from './draft.js';
import { loadEvidenceKeys } from './keyFile.js';
import type { Keyring } from './keyring.js';
import { EVIDENCE_MIGRATIONS } from './schema.js';
import type { Decision, EvidenceInput, EvidenceRecord, VerifyResult } from './types.js';
import { checkRecord, verifyChain, type VerifyOptions } from './verify.js';

export interface EvidenceStoreOptions {
  /** Root that `audioFile` paths are relative to. */
  dataDir: string;
  config?: EvidenceConfig;
  /** Clock for `storedAt` and ids (tests). */
  now?: () => Date;
  /** The MAC keys; without them the store can read and verify hashes but not append. */
  keys?: Keyring | null;
  /** Where checkpoints of the head go; none: no checkpoints (read-only stores, tests). */
  checkpoints?: CheckpointLog | null;
  /**
   * Where appendAsync commits: default the database's writer thread (SqliteWriter.for), null: on this thread's
   * connection (in-memory databases, and what tests compare with).
   */
  writer?: SqliteWriter | null;
}

const HEAD_SQL = 'SELECT seq, hash FROM evidence ORDER BY seq DESC LIMIT 1';

/** Appends drafted but not yet committed, at most: beyond it the disk is stalled and a decision fails at once. */
export const MAX_APPENDING = 256;

/**
 * How often a sealed record may find the head moved by another writer (a second gateway process on the file, the
 * CLI) before the append fails: each retry means someone else appended, so this only runs out under a storm.
 */
const MAX_RESEALS = 32;

type Row = Omit<EvidenceRecord, 'complaint' | 'decision'> & { complaint: number; decision: string };

function fromRow(r: Row): EvidenceRecord {
  return { ...r, decision: r.decision as Decision, complaint: r.complaint === 1 };
}

const COLUMNS = [
  'seq', 'id', 'format', 'callId', 'callee', 'promptId', 'promptText', 'decision', 'phrase', 'transcript',
  'confidence', 'complaint', 'speechStartT', 'speechEndT', 'decidedT', 'wallTime', 'storedAt', 'audioFile',
  'audioSha256', 'audioSampleRate', 'audioSamples', 'model', 'mode', 'prevHash', 'hash', 'keyId', 'mac',
] as const;

/** One store per database file in a process: the consent feature appends, the gRPC wire reads the same one. */
const shared = new Map<string, EvidenceStore>();

export class EvidenceStore {
  private readonly log = rootLogger.child({ mod: 'evidence' });
  private readonly config: EvidenceConfig;
  private readonly now: () => Date;
  private readonly stmts;
  private sinceCheckpoint = 0;
  private readonly writer: SqliteWriter | null;
  private appendingCount = 0;

  /**
   * The process-wide store on `<dataDir>/earshot.db` (or evidence.dbFile): opens the database, loads the MAC key
   * (creating the default key file on a first start), compares the chain with its last checkpoint and checkpoints
   * the head if the file does not have it yet. Throws when the key is missing or unreadable.
   */
  static open(opts: { dataDir: string; config?: unknown; now?: () => Date; env?: NodeJS.ProcessEnv }): EvidenceStore {
    const config = parseEvidenceConfig(opts.config);
    const dbFile = resolve(config.dbFile ?? databasePath(opts.dataDir));
    const existing = shared.get(dbFile);
    if (existing && existing.db.open) return existing;
    const db = sharedDatabase({ dataDir: opts.dataDir, file: dbFile, migrations: [EVIDENCE_MIGRATIONS] });
    const macced = db.prepare('SELECT 1 FROM evidence WHERE mac IS NOT NULL LIMIT 1').get() !== undefined;
    const keys = loadEvidenceKeys({ env: opts.env ?? process.env, keyFile: config.keyFile, dbFile, mayCreate: !macced });
    const log = rootLogger.child({ mod: 'evidence' });
    const cpFile = resolve(config.checkpointFile ?? join(dirname(dbFile), 'evidence-checkpoints.jsonl'));
    const checkpoints = new CheckpointLog(cpFile, keys.ring.current, (e) => log.error({ err: e.message, file: cpFile }, 'evidence checkpoint write failed'));
    const store = new EvidenceStore(db, { dataDir: opts.dataDir, config, now: opts.now, keys: keys.ring, checkpoints });
    log.info({ keyId: keys.ring.current.id, keySource: keys.source, keyCreated: keys.created, checkpointFile: cpFile }, 'evidence store open');
    store.anchorAtOpen();
    if (!db.readonly) {
      warmWavWriter();
      store.writer?.warm();
    }
    shared.set(dbFile, store);
    return store;
  }

  constructor(
    readonly db: Db,
    private readonly opts: EvidenceStoreOptions,
  ) {
    this.config = opts.config ?? parseEvidenceConfig({});
    this.now = opts.now ?? (() => new Date());
    this.writer = opts.writer === undefined ? SqliteWriter.for(db) : opts.writer;
    if (!db.readonly) migrate(db, EVIDENCE_MIGRATIONS);
    this.stmts = {
      last: db.prepare('SELECT seq, hash, keyId, mac FROM evidence ORDER BY seq DESC LIMIT 1'),
      insert: db.prepare(`INSERT INTO evidence (${COLUMNS.join(', ')}) VALUES (${COLUMNS.map((c) => `@${c}`).join(', ')})`),
      get: db.prepare('SELECT * FROM evidence WHERE id = ?'),
      bySeq: db.prepare('SELECT seq, hash FROM evidence WHERE seq = ?'),
      byCall: db.prepare('SELECT * FROM evidence WHERE callId = ? ORDER BY seq'),
      all: db.prepare('SELECT * FROM evidence ORDER BY seq'),
    };
  }

  /** The keys this store MACs and verifies with (null for a store opened without them). */
  get keys(): Keyring | null {
    return this.opts.keys ?? null;
  }

  /**
   * Stores a decision. Order: WAV written + fsynced + renamed, then the row committed (WAL fsync, synchronous=FULL)
   * together with the outbox rows `announce` gives for it (one transaction, one fsync). Throws on invalid input or
   * I/O failure; then nothing was recorded (nor announced) and the caller must not report the decision.
   */
  append(input: EvidenceInput, announce?: Announce<EvidenceRecord>): EvidenceRecord {
    const { base, wav, abs, key } = this.draft(input);
    if (wav) writeFileDurable(abs!, wav);
    return this.commit(base, abs, key, announce);
  }

  /**
   * The same off the event loop (the live-call path): the WAV is written and synced in one worker thread, the row
   * with its outbox rows committed (one WAL fsync) in the database's writer thread (SqliteWriter). This thread only
   * seals the record against the head it reads and builds the rows. Durable when the promise resolves, in the same
   * order: WAV, then row.
   */
  appendAsync(input: EvidenceInput, announce?: Announce<EvidenceRecord>): Promise<EvidenceRecord> {
    // Drafted now, so ids and storedAt sort like the chain as with append(); the WAV goes to the writer at once
    // (several may be on their way), and the rows are committed in draft order, each once its WAV is durable.
    if (this.appendingCount >= MAX_APPENDING) {
      return Promise.reject(new Error(`evidence store: ${MAX_APPENDING} appends already waiting for the disk; not recorded`));
    }
    let d: ReturnType<EvidenceStore['draft']>;
    try {
      d = this.draft(input);
    } catch (e) {
      return Promise.reject(e);
    }
    this.appendingCount++;
    const written = d.wav ? writeFileDurableOffThread(d.abs!, d.wav) : Promise.resolve();
    const next = Promise.all([written, this.appending])
      .then(() => (this.writer ? this.commitOffThread(this.writer, d.base, d.abs, d.key, announce) : this.commit(d.base, d.abs, d.key, announce)))
      .finally(() => this.appendingCount--);
    this.appending = next.catch(() => undefined);
    return next;
  }

  /**
   * Seals against the head as this thread's connection sees it and has the writer commit the record only if that
   * is still the head inside its write lock (another process may have appended meanwhile: then it is sealed again
   * on the head the writer found). Appends of this store are chained one after the other (`appending`), so no two
   * of its own are ever sealed on the same head.
   */
  private async commitOffThread(
    writer: SqliteWriter,
    base: ReturnType<typeof draftRecord>['fields'],
    abs: string | null,
    key: NonNullable<Keyring['current']>,
    announce?: Announce<EvidenceRecord>,
  ): Promise<EvidenceRecord> {
    try {
      let head = this.head();
      for (let tries = 1; ; tries++) {
        const rec = sealRecord(base, head, key);
        const rows = announce ? announce(rec) : [];
        let r;
        try {
          r = await writer.run({
            guard: { sql: HEAD_SQL, expect: head && { seq: head.seq, hash: head.hash } },
            steps: [{ sql: this.insertSql, params: { ...rec, complaint: rec.complaint ? 1 : 0 } }, ...outboxInsertSteps(this.db, rows)],
          });
        } catch (e) {
          // The thread died with the record in hand: if its commit got through (a row visible here was synced
          // first: WAL makes frames visible only after their fsync), the record stands and is reported as stored.
          if (e instanceof WriterDied && this.stmts.get.get(rec.id)) {
            if (rows.length) outboxWritten(this.db);
            return this.committed(rec);
          }
          throw e;
        }
        if (r.ok) {
          if (rows.length) outboxWritten(this.db);
          return this.committed(rec);
        }
        if (tries >= MAX_RESEALS) throw new Error(`evidence chain head kept moving (other writers): not recorded after ${tries} tries`);
        head = r.stale ? { seq: r.stale.seq as number, hash: r.stale.hash as string } : null;
      }
    } catch (e) {
      this.dropWav(abs);
      throw e;
    }
  }

  private readonly insertSql = `INSERT INTO evidence (${COLUMNS.join(', ')}) VALUES (${COLUMNS.map((c) => `@${c}`).join(', ')})`;

  private appending: Promise<unknown> = Promise.resolve();

  private draft(input: EvidenceInput) {
    const key = this.opts.keys?.current;
    if (!key) throw new Error('this evidence store has no MAC key: it cannot append');
    const { fields: base, wav } = draftRecord(input, this.now(), this.config.audioDir);
    return { base, wav, abs: wav ? join(this.opts.dataDir, base.audioFile!) : null, key };
  }

  private commit(
    base: ReturnType<typeof draftRecord>['fields'],
    abs: string | null,
    key: NonNullable<Keyring['current']>,
    announce?: Announce<EvidenceRecord>,
  ): EvidenceRecord {
    // IMMEDIATE takes the write lock before reading the chain head, so two writers (processes) cannot both link to it.
    const insert = this.db.transaction((): EvidenceRecord => {
      const rec = sealRecord(base, (this.stmts.last.get() as { seq: number; hash: string } | undefined) ?? null, key);
      this.stmts.insert.run({ ...rec, complaint: rec.complaint ? 1 : 0 });
      if (announce) writeOutboxRows(this.db, announce(rec));
      return rec;
    });
    try {
      return this.committed(insert.immediate());
    } catch (e) {
      this.dropWav(abs);
      throw e;
    }
  }

  /** After the commit: the log line and, every checkpointEvery records, a checkpoint of the head. */
  private committed(rec: EvidenceRecord): EvidenceRecord {
    // The hash in the log line is one more copy of the head outside the database (log shippers keep it).
    this.log.info({ callId: rec.callId, evidenceId: rec.id, decision: rec.decision, seq: rec.seq, hash: rec.hash }, 'evidence appended');
    if (++this.sinceCheckpoint >= this.config.checkpointEvery) {
      this.sinceCheckpoint = 0;
      this.opts.checkpoints?.write({ seq: rec.seq, hash: rec.hash });
    }
    return rec;
  }

  private dropWav(abs: string | null): void {
    if (!abs) return;
    try {
      unlinkSync(abs); // an orphan WAV without a row would only confuse an auditor
    } catch {
      /* already gone */
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
    return checkRecord(rec, (r) => this.resolveAudio(r), this.keys);
  }

  /**
   * Walks the whole chain in seq order: recomputes every hash, checks every prevHash link and re-hashes every WAV.
   * Synchronous and proportional to the store's size — an audit/CLI operation, not for the call path.
   */
  verify(opts: VerifyOptions = {}): VerifyResult {
    const rows = this.stmts.all.iterate() as IterableIterator<Row>;
    const records = (function* () {
      for (const r of rows) yield fromRow(r);
    })();
    try {
      return verifyChain(records, (r) => this.resolveAudio(r), { keyring: this.keys, ...opts });
    } finally {
      // Release the statement if verification stopped early — also before the first record (a bad checkpoint),
      // when closing the never-started generator would not reach the statement.
      records.return(undefined);
      rows.return?.();
    }
  }

  /** The last record's seq and hash, or null for an empty chain. */
  head(): { seq: number; hash: string } | null {
    const h = this.stmts.last.get() as { seq: number; hash: string } | undefined;
    return h ? { seq: h.seq, hash: h.hash } : null;
  }

  /** Checkpoints the head (synchronously) and closes the checkpoint file; the database stays open (it is shared). */
  close(): void {
    this.opts.checkpoints?.close(this.db.open ? this.head() : null);
    for (const [file, s] of shared) if (s === this) shared.delete(file);
  }

  /**
   * At start: the chain must still hold the last checkpoint's record. If it does not, records were removed or the
   * database was put back from a backup — said loudly, and the head is not checkpointed over it. Otherwise the head
   * is checkpointed when the file lacks it (first start with keys, a crash before the last write, a new key).
   */
  private anchorAtOpen(): void {
    const cps = this.opts.checkpoints;
    if (!cps) return;
    const head = this.head();
    const last = CheckpointLog.readLast(cps.path);
    if (last) {
      const at = this.stmts.bySeq.get(last.seq) as { seq: number; hash: string } | undefined;
      if (!at || at.hash !== last.hash) {
        this.log.error(
          { checkpointSeq: last.seq, checkpointHash: last.hash, headSeq: head?.seq ?? 0, file: cps.path },
          'evidence chain does not hold its last checkpoint: records were removed or rewritten, or the database was restored from a backup; run `earshot evidence verify`',
        );
        return;
      }
    }
    if (head && (!last || last.seq !== head.seq || last.keyId !== this.keys?.current.id)) cps.writeSync(head);
  }

  private resolveAudio(rec: EvidenceRecord): string | null {
    return rec.audioFile === null ? null : join(this.opts.dataDir, ...rec.audioFile.split('/'));
  }
}
