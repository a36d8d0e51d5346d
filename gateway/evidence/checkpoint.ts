// Signed checkpoints of the chain head: "record `seq` had hash `hash`", MAC'd with the evidence key and kept outside
// the database (CheckpointLog.ts writes them). The hash chain and record MACs cannot show that records were removed
// from the end; a checkpoint that names a later record than the chain holds does. Pure functions, engine-neutral.
//
// A checkpoint is one JSON line: {"at","format","hash","keyId","seq","mac"}. Its MAC is over the canonical JSON of
// the other five fields (keys sorted, no whitespace) — see keyring.ts.
import { z } from 'zod';
import { checkpointMacOf, macEqual, type EvidenceKey, type Keyring } from './keyring.js';

export const CHECKPOINT_FORMAT = 1;

export const CheckpointSchema = z
  .object({
    format: z.literal(CHECKPOINT_FORMAT),
    seq: z.number().int().min(1),
    hash: z.string().regex(/^[0-9a-f]{64}$/),
    keyId: z.string().regex(/^[0-9a-f]{16}$/),
    at: z.string().max(40),
    mac: z.string().regex(/^[0-9a-f]{64}$/),
  })
  .strict();

export type Checkpoint = z.infer<typeof CheckpointSchema>;

export interface ChainHead {
  seq: number;
  hash: string;
}

export function checkpointCanonical(cp: Omit<Checkpoint, 'mac'>): string {
  return JSON.stringify({ at: cp.at, format: cp.format, hash: cp.hash, keyId: cp.keyId, seq: cp.seq });
}

export function signCheckpoint(head: ChainHead, key: EvidenceKey, at: Date): Checkpoint {
  const body = { format: CHECKPOINT_FORMAT, seq: head.seq, hash: head.hash, keyId: key.id, at: at.toISOString() } as const;
  return { ...body, mac: checkpointMacOf(key, checkpointCanonical(body)) };
}

/** Why the checkpoint cannot be trusted, or null when its MAC verifies with a key of the ring. */
export function checkpointProblem(cp: Checkpoint, ring: Keyring): string | null {
  const key = ring.get(cp.keyId);
  if (!key) return `checkpoint at seq ${cp.seq} is signed by key ${cp.keyId}, which is not in the keyring`;
  if (!macEqual(checkpointMacOf(key, checkpointCanonical(cp)), cp.mac)) return `checkpoint at seq ${cp.seq} has a bad MAC (forged or altered)`;
  return null;
}

/**
 * Parses a checkpoint file. A torn last line (a crash while appending) is reported in `tornTail` and skipped; any
 * other line that is not a checkpoint makes the whole file suspect (`problems`).
 */
export function parseCheckpoints(text: string): { checkpoints: Checkpoint[]; problems: string[]; tornTail: boolean } {
  const lines = text.split('\n');
  const checkpoints: Checkpoint[] = [];
  const problems: string[] = [];
  let tornTail = false;
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    let parsed: Checkpoint | null = null;
    try {
      const r = CheckpointSchema.safeParse(JSON.parse(line));
      if (r.success) parsed = r.data;
    } catch {
      /* reported below */
    }
    if (parsed) checkpoints.push(parsed);
    else if (i === lines.length - 1) tornTail = true; // no newline after it: the append never finished
    else problems.push(`checkpoint file line ${i + 1} is not a checkpoint`);
  });
  return { checkpoints, problems, tornTail };
}

/** "<seq>:<hash>" as printed by `earshot evidence verify`. */
export function parseHead(s: string): ChainHead | null {
  const m = /^(\d+):([0-9a-f]{64})$/.exec(s.trim());
  return m ? { seq: Number(m[1]), hash: m[2] } : null;
}
