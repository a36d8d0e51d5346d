// What a consent decision looks like on the way into the evidence store and once it is stored.
import { z } from 'zod';

export const DECISIONS = ['granted', 'refused', 'unclear'] as const;
export type Decision = (typeof DECISIONS)[number];

/** Times `speechStartT`/`speechEndT`/`decidedT` are milliseconds of inbound call audio since the call started. */
export const EvidenceInputSchema = z.object({
  callId: z.string().min(1).max(200),
  callee: z.string().max(64).optional(),
  promptId: z.string().max(200).optional(),
  promptText: z.string().max(10_000).optional(),
  decision: z.enum(DECISIONS),
  phrase: z.string().max(1000).nullable(),
  transcript: z.string().max(10_000),
  confidence: z.number().min(0).max(1),
  complaint: z.boolean(),
  speechStartT: z.number().min(0).optional(),
  speechEndT: z.number().min(0),
  decidedT: z.number().min(0),
  wallTime: z.iso.datetime({ offset: true }),
  /** The answer utterance with ~0.5 s of context either side, mono pcm16. */
  audio: z
    .object({
      sampleRate: z.number().int().min(8000).max(48000),
      samples: z.custom<Int16Array>((v) => v instanceof Int16Array, 'expected an Int16Array'),
    })
    .optional(),
  model: z.string().min(1).max(200),
  mode: z.string().min(1).max(100),
});

export type EvidenceInput = z.input<typeof EvidenceInputSchema>;

/**
 * Version of the record layout; bump (never reuse) when it changes. 1: hash-chained. 2: also `keyId` + `mac` (the
 * canonical form and hash are unchanged). Records of format 1 are only trusted under a signed checkpoint.
 */
export const EVIDENCE_FORMAT = 2;
export const EVIDENCE_FORMATS = [1, 2] as const;

/**
 * A stored record. Every field except `hash`, `keyId` and `mac` is covered by `hash` (see canonical.ts); `mac`
 * covers `hash` (keyring.ts). Optional inputs are stored as null so the canonical form has a fixed key set.
 */
export interface EvidenceRecord {
  format: number;
  /** Position in the hash chain, 1-based and gap-free; the chain order (ids are also time-ordered, but seq rules). */
  seq: number;
  id: string;
  callId: string;
  callee: string | null;
  promptId: string | null;
  promptText: string | null;
  decision: Decision;
  phrase: string | null;
  transcript: string;
  confidence: number;
  complaint: boolean;
  speechStartT: number | null;
  speechEndT: number;
  decidedT: number;
  wallTime: string;
  /** The store's own clock when the row was written (ISO, UTC). */
  storedAt: string;
  /** WAV path relative to the data dir, '/'-separated, e.g. `evidence/2025-06-01/<id>.wav`; null when no audio. */
  audioFile: string | null;
  /** Lowercase hex SHA-256 of the WAV file's bytes. */
  audioSha256: string | null;
  audioSampleRate: number | null;
  audioSamples: number | null;
  model: string;
  mode: string;
  /** `hash` of the record with seq-1, or 64 zeros for the first record. */
  prevHash: string;
  hash: string;
  /** Id of the key that made `mac` (format 2); null in format 1. */
  keyId: string | null;
  /** HMAC of `hash` with the evidence key (format 2); null in format 1. */
  mac: string | null;
}

export type HashedFields = Omit<EvidenceRecord, 'hash' | 'keyId' | 'mac'>;

export interface VerifyResult {
  ok: boolean;
  checked: number;
  /** The first failure: a record (id and seq), or the chain as a whole (id null: e.g. records missing at the end). */
  firstBad?: { id: string | null; seq?: number; reason: string };
  /** Last record of the chain; `--expect-head <seq>:<hash>` with it later shows that nothing was removed since. */
  head?: { id: string; seq: number; hash: string };
  /** Whether record MACs were checked: only with the key; without it a tamperer who rewrote the chain passes. */
  macs: 'checked' | 'unchecked';
  /** What anchored the chain against truncation. */
  anchors: {
    /** Checkpoints compared with the chain (MACs checked only with the key). */
    checkpoints: number;
    /** Highest seq a checkpoint (or --expect-head) pins; records after it could be removed unnoticed. */
    anchoredTo: number;
    /** A checkpoint file whose last line was cut short (a crash while appending). */
    tornTail?: boolean;
  };
}
