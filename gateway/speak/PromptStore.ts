// Where the recorded-prompt library keeps its decoded audio: one interface, an implementation per engine (files in
// the data dir for one gateway, PostgreSQL for a fleet). Every instance keeps the library in memory (PromptLibrary);
// the store is read at start-up and when another instance adds a prompt, never on the audio path.
export interface RecordedPromptInfo {
  promptId: string;
  /** SHA-256 of the uploaded file, hex. */
  sha256: string;
  durationMs: number;
  /** Loudness target it was normalised to (EBU R128), or null: kept as recorded. */
  loudnessLufs: number | null;
  addedAt: string;
}

export interface StoredPrompt {
  info: RecordedPromptInfo;
  /** Mono 16-bit PCM at 16 kHz and at 8 kHz. */
  pcm16k: Int16Array;
  pcm8k: Int16Array;
}

export interface PromptStore {
  /** Every stored prompt (start-up). Unreadable entries are skipped and reported through `onSkip`. */
  loadAll(onSkip?: (what: string, err: Error) => void): Promise<StoredPrompt[]>;
  load(promptId: string): Promise<StoredPrompt | null>;
  /** Stores `p` unless its id exists; returns what is stored under the id either way (prompts are immutable). */
  insert(p: StoredPrompt): Promise<{ stored: RecordedPromptInfo; created: boolean }>;
  /** Calls `cb(promptId)` when another instance added a prompt (only stores shared by a fleet do). */
  onAdded?(cb: (promptId: string) => void): () => void;
  close?(): Promise<void>;
}

/** PCM as stored: the samples' bytes, little-endian (every platform earshot runs on). */
export function pcmBytes(pcm: Int16Array): Buffer {
  return Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength);
}

export function pcmFromBytes(b: Uint8Array): Int16Array {
  // Copy into an aligned buffer: a Buffer may start at an odd byte offset.
  const out = new Int16Array(b.length >> 1);
  Buffer.from(out.buffer).set(b.subarray(0, out.length * 2));
  return out;
}
