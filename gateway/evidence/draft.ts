// A decision turned into the fields of its record before it is sealed into the chain, engine-neutral: the id (ULID
// of the store's clock), the answer audio as WAV bytes and their SHA-256, and the path the WAV has relative to the
// data dir (where SQLite keeps it as a file, and where an export writes it). Every engine seals these the same way.
import { encodeWav } from '../audio/wav.js';
import { sha256Hex } from './canonical.js';
import type { UnsealedRecord } from './chain.js';
import { EvidenceInputSchema, type EvidenceInput } from './types.js';
import { ulid } from './ulid.js';

export interface Draft {
  fields: UnsealedRecord;
  /** The WAV to store with the record (same transaction or before it), or null when the decision has no audio. */
  wav: Uint8Array | null;
}

/** Validates `input` (throws on invalid input: then nothing may be recorded) and builds the record's fields. */
export function draftRecord(input: EvidenceInput, now: Date, audioDir: string): Draft {
  const inp = EvidenceInputSchema.parse(input);
  const id = ulid(now.getTime());
  const storedAt = now.toISOString();
  const wav = inp.audio ? encodeWav({ sampleRate: inp.audio.sampleRate, samples: inp.audio.samples }) : null;
  return {
    wav,
    fields: {
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
      audioFile: wav ? `${audioDir}/${storedAt.slice(0, 10)}/${id}.wav` : null,
      audioSha256: wav ? sha256Hex(wav) : null,
      audioSampleRate: inp.audio ? inp.audio.sampleRate : null,
      audioSamples: inp.audio ? inp.audio.samples.length : null,
      model: inp.model,
      mode: inp.mode,
    },
  };
}
