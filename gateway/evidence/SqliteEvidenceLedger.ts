// EvidenceLedger on the embedded SQLite store (EvidenceStore): its durable append (the row committed in the database's
// writer thread, the WAV in another worker) and its WAV files.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Announce } from '../webhooks/WebhookOutbox.js';
import type { ChainHead } from './checkpoint.js';
import type { EvidenceLedger, StoredEvidence } from './EvidenceLedger.js';
import type { EvidenceStore } from './EvidenceStore.js';
import type { EvidenceInput, EvidenceRecord, VerifyResult } from './types.js';
import type { VerifyOptions } from './verify.js';

const PAGE = 500;

export class SqliteEvidenceLedger implements EvidenceLedger {
  readonly engine = 'sqlite' as const;

  constructor(
    readonly store: EvidenceStore,
    private readonly dataDir: string,
  ) {}

  get location(): string {
    return this.store.db.name;
  }

  get keys() {
    return this.store.keys;
  }

  async append(input: EvidenceInput, announce?: Announce<EvidenceRecord>): Promise<EvidenceRecord> {
    return this.store.appendAsync(input, announce);
  }

  async get(id: string): Promise<EvidenceRecord | null> {
    return this.store.get(id);
  }

  async listByCall(callId: string): Promise<EvidenceRecord[]> {
    return this.store.listByCall(callId);
  }

  async audio(id: string): Promise<Uint8Array | null> {
    const p = this.store.audioPath(id);
    return p && existsSync(p) ? readFileSync(p) : null;
  }

  async head(): Promise<ChainHead | null> {
    return this.store.head();
  }

  async at(seq: number): Promise<ChainHead | null> {
    return (this.store.db.prepare('SELECT seq, hash FROM evidence WHERE seq = ?').get(seq) as ChainHead | undefined) ?? null;
  }

  async firstSeqSince(sinceIso: string): Promise<number | null> {
    return (this.store.db.prepare('SELECT MIN(seq) AS s FROM evidence WHERE storedAt >= ?').get(sinceIso) as { s: number | null }).s;
  }

  async *scan(fromSeq: number): AsyncIterable<StoredEvidence> {
    const page = this.store.db.prepare('SELECT id FROM evidence WHERE seq >= ? ORDER BY seq LIMIT ?');
    for (let from = fromSeq; ; ) {
      const ids = page.all(from, PAGE) as { id: string }[];
      if (!ids.length) return;
      for (const { id } of ids) {
        const record = this.store.get(id)!;
        const p = record.audioFile === null ? null : join(this.dataDir, ...record.audioFile.split('/'));
        yield { record, wav: p && existsSync(p) ? readFileSync(p) : null };
        from = record.seq + 1;
      }
    }
  }

  async verify(opts: VerifyOptions = {}): Promise<VerifyResult> {
    return this.store.verify(opts);
  }

  async close(): Promise<void> {
    this.store.close();
  }
}
