// Consent evidence behind one interface, an implementation per engine: the embedded SQLite store with WAV files
// (EvidenceStore, wrapped by SqliteEvidenceLedger) and PostgreSQL for a fleet (PgEvidenceStore: one chain for every
// instance, the WAV in the same transaction as its record). Sealing, MACs, checkpoints and verification are the
// engine-neutral functions in chain.ts, keyring.ts, checkpoint.ts and verify.ts, so records from either engine are
// checked the same way. Async, so an engine that answers over the network never blocks the audio path; append()
// resolves only once the record is durable — the caller reports the decision only then. The webhook announcing the
// decision is written in the record's own transaction (`announce`): both are stored, or neither.
import type { ChainHead } from './checkpoint.js';
import type { Announce } from '../webhooks/WebhookOutbox.js';
import type { Keyring } from './keyring.js';
import type { EvidenceInput, EvidenceRecord, VerifyResult } from './types.js';
import type { VerifyOptions } from './verify.js';

export interface StoredEvidence {
  record: EvidenceRecord;
  /** The record's WAV as stored, or null (no audio, or the audio is missing: verification says which). */
  wav: Uint8Array | null;
}

export interface EvidenceLedger {
  readonly engine: 'sqlite' | 'postgres';
  /** Where the records are, safe to print (a file path, or the database URL without its password). */
  readonly location: string;
  readonly keys: Keyring | null;
  /**
   * Appends a record; `announce` gives the outbox rows announcing it (called with the sealed record, inside the
   * append's transaction): they commit with the record, and if they cannot be written the record is not either.
   */
  append(input: EvidenceInput, announce?: Announce<EvidenceRecord>): Promise<EvidenceRecord>;
  get(id: string): Promise<EvidenceRecord | null>;
  listByCall(callId: string): Promise<EvidenceRecord[]>;
  /** The record's WAV bytes, or null. */
  audio(id: string): Promise<Uint8Array | null>;
  head(): Promise<ChainHead | null>;
  /** seq and hash of the record at `seq`, or null. */
  at(seq: number): Promise<ChainHead | null>;
  /** The first seq stored at or after `sinceIso` (the store's clock), or null when there is none. */
  firstSeqSince(sinceIso: string): Promise<number | null>;
  /** Records with seq ≥ `fromSeq` in chain order, with their WAVs, read a page at a time. */
  scan(fromSeq: number): AsyncIterable<StoredEvidence>;
  /** The whole chain through verifyChain (verify.ts), with the store's keys unless `opts.keyring` says otherwise. */
  verify(opts?: VerifyOptions): Promise<VerifyResult>;
  close(): Promise<void>;
}
