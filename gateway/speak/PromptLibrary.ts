// Recorded prompts a platform uploads once and then plays by id on any call (`play` without `audio`). An outbound
// campaign plays the same few recordings on every call: sending them as seconds of base64 per call cost the event
// loop ~5 ms per prompt (UTF-8 decode, JSON parse, base64) and the platform the bandwidth. Each upload is decoded
// once through promptImport (any format ffmpeg reads) to both telephony rates and kept in memory; it is stored in a
// PromptStore (files under `<dataDir>/prompts/`, or PostgreSQL shared by a fleet, where every instance loads an upload
// to any of them as soon as it is announced), so it survives restarts.
// Immutable, like approved scripts: the same id with other audio is refused, so a promptId in a call record always
// names the audio that was played (its SHA-256 is in the sidecar). A new recording gets a new id.
import { createHash, randomUUID } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rootLogger } from '../ops/log.js';
import type { Config } from '../config.js';
import { fleetDatabase } from '../store/engine.js';
import { FilePromptStore } from './FilePromptStore.js';
import { PgPromptStore } from './PgPromptStore.js';
import { UPLOAD_FORMATS } from './decodeOptions.js';
import { decodeToPcm, PromptImportError, sniffAudioFormat } from './promptImport.js';
import type { PromptStore, RecordedPromptInfo, StoredPrompt } from './PromptStore.js';

export type { RecordedPromptInfo } from './PromptStore.js';

const log = rootLogger.child({ mod: 'prompt-library' });

export const PROMPT_ID_RE = /^[\w.:@-]{1,128}$/;


export class PromptLibraryError extends Error {
  constructor(
    readonly code: 'prompt_exists' | 'bad_audio' | 'prompt_too_long' | 'invalid_prompt_id' | 'unsupported_format' | 'decode_timeout',
    message: string,
  ) {
    super(message);
    this.name = 'PromptLibraryError';
  }
}


export class PromptLibrary {
  private readonly store: PromptStore;
  private readonly items = new Map<string, StoredPrompt>();
  /** Uploads in progress per id: a second upload of the same id waits for the first, then is compared with it. */
  private readonly pending = new Map<string, Promise<unknown>>();
  /** Prompts being fetched from the store after another instance added them (or on a miss). */
  private readonly fetching = new Map<string, Promise<boolean>>();
  private readonly maxPromptMs: number;
  private readonly decodeTimeoutMs: number;
  private unsubscribe: (() => void) | null = null;

  /** The library on `store` (files in dataDir by default), with every stored prompt loaded into memory. */
  static async open(opts: { dataDir: string; maxPromptMs: number; decodeTimeoutMs?: number; store?: PromptStore }): Promise<PromptLibrary> {
    const lib = new PromptLibrary({ ...opts, store: opts.store ?? new FilePromptStore(opts.dataDir) });
    await lib.load();
    return lib;
  }

  /** The library the configuration names: the fleet's PostgreSQL database (database.url), else files in dataDir. */
  static async forConfig(config: Pick<Config, 'dataDir' | 'database' | 'limits'>): Promise<PromptLibrary> {
    const fleet = fleetDatabase(config);
    let store: PromptStore | undefined;
    if (fleet) {
      try {
        store = await PgPromptStore.open(fleet.pg, fleet.release);
      } catch (e) {
        await fleet.release();
        throw e;
      }
    }
    const l = config.limits;
    return PromptLibrary.open({ dataDir: config.dataDir, maxPromptMs: l.maxPromptMs, decodeTimeoutMs: l.promptDecodeTimeoutMs, store });
  }

  private constructor(opts: { maxPromptMs: number; decodeTimeoutMs?: number; store: PromptStore }) {
    this.store = opts.store;
    this.maxPromptMs = opts.maxPromptMs;
    this.decodeTimeoutMs = opts.decodeTimeoutMs ?? 10_000;
    // A prompt uploaded to another instance of the fleet: loaded here at once, so it plays here too.
    this.unsubscribe = this.store.onAdded?.((id) => void this.ensure(id)) ?? null;
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

  /**
   * Makes sure `promptId` is in memory if the store has it (uploaded to another instance a moment ago, before its
   * notification arrived): true when it is. Never called from the audio path; a miss on `play` is answered at once.
   */
  ensure(promptId: string): Promise<boolean> {
    if (this.items.has(promptId)) return Promise.resolve(true);
    if (!PROMPT_ID_RE.test(promptId)) return Promise.resolve(false);
    let f = this.fetching.get(promptId);
    if (!f) {
      f = this.store
        .load(promptId)
        .then((p) => {
          if (p && !this.items.has(promptId)) this.items.set(promptId, p);
          return this.items.has(promptId);
        })
        .catch((e: Error) => {
          log.warn({ promptId, err: e.message }, 'recorded prompt could not be loaded from the store');
          return false;
        })
        .finally(() => this.fetching.delete(promptId));
      this.fetching.set(promptId, f);
    }
    return f;
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

  async close(): Promise<void> {
    this.unsubscribe?.();
    await this.store.close?.();
  }

  private async add(promptId: string, file: Buffer, opts: { loudnessLufs: number | null }): Promise<{ info: RecordedPromptInfo; created: boolean }> {
    const sha256 = createHash('sha256').update(file).digest('hex');
    await this.ensure(promptId); // another instance may have it already
    const have = this.items.get(promptId);
    if (have) return same(have.info, sha256, opts.loudnessLufs);
    // Checked before anything is decoded: the container from its first bytes, and a decode that stops just past
    // the longest prompt allowed, so a file that would decode to an hour costs no more than one that is too long.
    const format = sniffAudioFormat(file);
    if (!format) throw new PromptLibraryError('unsupported_format', `not a recording in an accepted container (${UPLOAD_FORMATS.join(', ')})`);
    const untrusted = { format, maxSeconds: this.maxPromptMs / 1000 + 0.5, timeoutMs: this.decodeTimeoutMs };
    // ffmpeg reads from a path: the upload goes to a private temporary file (the library may live in a database),
    // then away.
    const tmp = join(tmpdir(), `earshot-upload-${randomUUID()}`);
    writeFileSync(tmp, file, { mode: 0o600 });
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
    const { stored, created } = await this.store.insert({ info, pcm16k, pcm8k });
    if (!created) {
      // Another instance stored this id between our look and our insert: it wins; ours is the same or refused.
      await this.ensure(promptId);
      return same(stored, sha256, opts.loudnessLufs);
    }
    this.items.set(promptId, { info, pcm16k, pcm8k });
    log.info({ promptId, sha256, durationMs }, 'recorded prompt added');
    return { info: { ...info }, created: true };
  }

  private async load(): Promise<void> {
    for (const p of await this.store.loadAll((what, e) => log.error({ file: what, err: e.message }, 'recorded prompt not loaded'))) {
      this.items.set(p.info.promptId, p);
    }
  }
}

function same(have: RecordedPromptInfo, sha256: string, loudnessLufs: number | null): { info: RecordedPromptInfo; created: boolean } {
  if (have.sha256 === sha256 && have.loudnessLufs === loudnessLufs) return { info: { ...have }, created: false };
  throw new PromptLibraryError('prompt_exists', `prompt ${have.promptId} exists with other audio; recorded prompts are immutable, upload it under a new id`);
}
