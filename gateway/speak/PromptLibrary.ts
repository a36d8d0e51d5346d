// Recorded prompts a platform uploads once and then plays by id on any call (`play` without `audio`). An outbound
// campaign plays the same few recordings on every call: sending them as seconds of base64 per call cost the event
// loop ~5 ms per prompt (UTF-8 decode, JSON parse, base64) and the platform the bandwidth. Each upload is decoded
// once through promptImport (any format ffmpeg reads) to both telephony rates and kept in memory; it is stored
// under `<dataDir>/prompts/` (PCM + JSON sidecar), so it survives restarts.
// Immutable, like approved scripts: the same id with other audio is refused, so a promptId in a call record always
// names the audio that was played (its SHA-256 is in the sidecar). A new recording gets a new id.
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { rootLogger } from '../ops/log.js';
import { decodeToPcm, PromptImportError, sniffAudioFormat, UPLOAD_FORMATS } from './promptImport.js';

const log = rootLogger.child({ mod: 'prompt-library' });

export const PROMPT_ID_RE = /^[\w.:@-]{1,128}$/;

export interface RecordedPromptInfo {
  promptId: string;
  /** SHA-256 of the uploaded file, hex. */
  sha256: string;
  durationMs: number;
  /** Loudness target it was normalised to (EBU R128), or null: kept as recorded. */
  loudnessLufs: number | null;
  addedAt: string;
}

export class PromptLibraryError extends Error {
  constructor(
    readonly code: 'prompt_exists' | 'bad_audio' | 'prompt_too_long' | 'invalid_prompt_id' | 'unsupported_format' | 'decode_timeout',
    message: string,
  ) {
    super(message);
    this.name = 'PromptLibraryError';
  }
}

interface Entry {
  info: RecordedPromptInfo;
  pcm16k: Int16Array;
  pcm8k: Int16Array;
}

export class PromptLibrary {
  private readonly dir: string;
  private readonly items = new Map<string, Entry>();
  /** Uploads in progress per id: a second upload of the same id waits for the first, then is compared with it. */
  private readonly pending = new Map<string, Promise<unknown>>();
  private readonly maxPromptMs: number;
  private readonly decodeTimeoutMs: number;

  constructor(opts: { dataDir: string; maxPromptMs: number; decodeTimeoutMs?: number }) {
    this.dir = join(opts.dataDir, 'prompts');
    this.maxPromptMs = opts.maxPromptMs;
    this.decodeTimeoutMs = opts.decodeTimeoutMs ?? 10_000;
    mkdirSync(this.dir, { recursive: true });
    this.load();
  }

  get size(): number {
    return this.items.size;
  }

  list(): RecordedPromptInfo[] {
    return [...this.items.values()].map((e) => ({ ...e.info })).sort((a, b) => a.promptId.localeCompare(b.promptId));
  }

  info(promptId: string): RecordedPromptInfo | undefined {
    const e = this.items.get(promptId);
    return e ? { ...e.info } : undefined;
  }

  /** The prompt as 16-bit PCM at a telephony rate. Shared, read-only: playout never writes into it. */
  pcm(promptId: string, rate: number): Int16Array | undefined {
    const e = this.items.get(promptId);
    if (!e) return undefined;
    return rate === 8000 ? e.pcm8k : e.pcm16k;
  }

  /** Adds a recording. Same id and same bytes again: no-op (`created` false). Same id, other bytes: refused. */
  async put(promptId: string, file: Buffer, opts: { loudnessLufs: number | null }): Promise<{ info: RecordedPromptInfo; created: boolean }> {
    if (!PROMPT_ID_RE.test(promptId)) throw new PromptLibraryError('invalid_prompt_id', 'promptId must be 1–128 of [A-Za-z0-9_.:@-]');
    while (this.pending.has(promptId)) await this.pending.get(promptId)!.catch(() => undefined);
    const job = this.add(promptId, file, opts);
    this.pending.set(promptId, job);
    try {
      return await job;
    } finally {
      this.pending.delete(promptId);
    }
  }

  private async add(promptId: string, file: Buffer, opts: { loudnessLufs: number | null }): Promise<{ info: RecordedPromptInfo; created: boolean }> {
    const sha256 = createHash('sha256').update(file).digest('hex');
    const have = this.items.get(promptId);
    if (have) {
      if (have.info.sha256 === sha256 && have.info.loudnessLufs === opts.loudnessLufs) return { info: { ...have.info }, created: false };
      throw new PromptLibraryError('prompt_exists', `prompt ${promptId} exists with other audio; recorded prompts are immutable, upload it under a new id`);
    }
    // Checked before anything is decoded: the container from its first bytes, and a decode that stops just past
    // the longest prompt allowed, so a file that would decode to an hour costs no more than one that is too long.
    const format = sniffAudioFormat(file);
    if (!format) throw new PromptLibraryError('unsupported_format', `not a recording in an accepted container (${UPLOAD_FORMATS.join(', ')})`);
    const untrusted = { format, maxSeconds: this.maxPromptMs / 1000 + 0.5, timeoutMs: this.decodeTimeoutMs };
    // ffmpeg reads from a path: the upload goes to a temporary file next to the library, then away.
    const tmp = join(this.dir, `.upload-${randomUUID()}`);
    writeFileSync(tmp, file);
    let pcm16k: Int16Array;
    let pcm8k: Int16Array;
    try {
      // First a plain decode, bounded like the others, only to measure: loudness normalisation runs at 192 kHz and
      // is what costs; a file that is too long is refused before it is paid for.
      const measured = await decodeToPcm(tmp, 8000, { untrusted });
      const ms = Math.round((measured.length / 8000) * 1000);
      if (ms > this.maxPromptMs) throw new PromptLibraryError('prompt_too_long', `prompt of more than ${this.maxPromptMs} ms (decoding stopped at ${ms} ms)`);
      const o = { untrusted, ...(opts.loudnessLufs === null ? {} : { loudnessLufs: opts.loudnessLufs }) };
      [pcm16k, pcm8k] = await Promise.all([decodeToPcm(tmp, 16000, o), decodeToPcm(tmp, 8000, o)]);
    } catch (e) {
      if (e instanceof PromptLibraryError) throw e;
      const timedOut = e instanceof PromptImportError && e.timedOut;
      throw new PromptLibraryError(timedOut ? 'decode_timeout' : 'bad_audio', (e as Error).message.replaceAll(tmp, 'the upload'));
    } finally {
      rmSync(tmp, { force: true });
    }
    const durationMs = Math.round((pcm16k.length / 16000) * 1000);
    if (durationMs > this.maxPromptMs) throw new PromptLibraryError('prompt_too_long', `prompt of ${durationMs} ms exceeds ${this.maxPromptMs} ms`);
    const info: RecordedPromptInfo = { promptId, sha256, durationMs, loudnessLufs: opts.loudnessLufs, addedAt: new Date().toISOString() };
    const base = join(this.dir, fileStem(promptId));
    writeFileSync(`${base}.16k.pcm`, pcmBytes(pcm16k));
    writeFileSync(`${base}.8k.pcm`, pcmBytes(pcm8k));
    // The sidecar last and by rename: a prompt exists once its sidecar does, never half-written.
    writeFileSync(`${base}.json.tmp`, JSON.stringify(info));
    renameSync(`${base}.json.tmp`, `${base}.json`);
    this.items.set(promptId, { info, pcm16k, pcm8k });
    log.info({ promptId, sha256, durationMs }, 'recorded prompt added');
    return { info: { ...info }, created: true };
  }

  private load(): void {
    for (const f of readdirSync(this.dir)) {
      if (!f.endsWith('.json')) continue;
      const base = join(this.dir, f.slice(0, -'.json'.length));
      try {
        const info = JSON.parse(readFileSync(join(this.dir, f), 'utf8')) as RecordedPromptInfo;
        if (!existsSync(`${base}.16k.pcm`) || !existsSync(`${base}.8k.pcm`)) throw new Error('PCM files missing');
        this.items.set(info.promptId, { info, pcm16k: readPcm(`${base}.16k.pcm`), pcm8k: readPcm(`${base}.8k.pcm`) });
      } catch (e) {
        log.error({ file: f, err: (e as Error).message }, 'recorded prompt not loaded');
      }
    }
  }
}

/** Ids may hold characters a file name should not start with or contain on every system: hex of the id. */
function fileStem(promptId: string): string {
  return Buffer.from(promptId, 'utf8').toString('hex');
}

function pcmBytes(pcm: Int16Array): Buffer {
  return Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength);
}

function readPcm(path: string): Int16Array {
  const b = readFileSync(path);
  // Copy into an aligned buffer: a Buffer may start at an odd byte offset.
  const out = new Int16Array(b.length >> 1);
  Buffer.from(out.buffer).set(b.subarray(0, out.length * 2));
  return out;
}
