// Rendered prompts, so an approved script line plays its first frame in milliseconds instead of waiting for
// synthesis. Two tiers: an in-memory LRU bounded by bytes, and `<dataDir>/prompt-cache/<key>.pcm` (raw int16 LE)
// with a JSON sidecar describing it, which survives restarts. The key covers everything that changes the audio.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { rootLogger } from '../ops/log.js';
import type { SynthesizeOptions, TtsEngine } from './tts/TtsEngine.js';

const log = rootLogger.child({ mod: 'prompt-cache' });

export interface PromptCacheOptions {
  dataDir: string;
  /** Memory tier bound, bytes of PCM. */
  maxMemoryBytes?: number;
}

export interface StreamedPrompt {
  /** First chunk: immediate for a cached prompt, the first synthesised phrase otherwise. */
  first: Promise<Int16Array>;
  /** Every chunk in order (the first included). */
  all: AsyncIterable<Int16Array>;
  cached: boolean;
}

export interface PromptSidecar {
  key: string;
  text: string;
  engine: string;
  engineVersion: string;
  voice: string;
  sampleRate: number;
  samples: number;
  createdAt: string;
}

export function promptKey(text: string, engine: TtsEngine, opts: SynthesizeOptions): string {
  return createHash('sha256')
    .update(JSON.stringify([text, engine.id, opts.voice ?? '', opts.language, opts.sampleRate, engine.version ?? '']))
    .digest('hex');
}

export class PromptCache {
  private readonly mem = new Map<string, Int16Array>(); // insertion order = LRU order
  private memBytes = 0;
  private readonly dir: string;
  private readonly maxBytes: number;

  constructor(opts: PromptCacheOptions) {
    this.dir = join(opts.dataDir, 'prompt-cache');
    this.maxBytes = opts.maxMemoryBytes ?? 64 * 1024 * 1024;
    mkdirSync(this.dir, { recursive: true });
  }

  get memoryBytes(): number {
    return this.memBytes;
  }

  /** Cached PCM (memory, then disk), or undefined. */
  get(key: string): Int16Array | undefined {
    const m = this.mem.get(key);
    if (m) {
      this.mem.delete(key);
      this.mem.set(key, m);
      return m;
    }
    const file = join(this.dir, `${key}.pcm`);
    if (!existsSync(file)) return undefined;
    const b = readFileSync(file);
    const pcm = new Int16Array(b.byteLength >> 1);
    for (let i = 0; i < pcm.length; i++) pcm[i] = b.readInt16LE(i * 2);
    this.remember(key, pcm);
    return pcm;
  }

  put(key: string, pcm: Int16Array, meta: Omit<PromptSidecar, 'key' | 'samples' | 'createdAt'>): void {
    this.remember(key, pcm);
    const file = join(this.dir, `${key}.pcm`);
    try {
      const tmp = `${file}.${process.pid}.tmp`;
      writeFileSync(tmp, Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength));
      renameSync(tmp, file);
      const side: PromptSidecar = { key, ...meta, samples: pcm.length, createdAt: new Date().toISOString() };
      writeFileSync(join(this.dir, `${key}.json`), JSON.stringify(side, null, 2));
    } catch (e) {
      log.warn({ err: (e as Error).message, key }, 'cannot write prompt to disk cache; kept in memory only');
    }
  }

  private remember(key: string, pcm: Int16Array): void {
    if (this.mem.has(key)) {
      this.memBytes -= this.mem.get(key)!.byteLength;
      this.mem.delete(key);
    }
    if (pcm.byteLength > this.maxBytes) return;
    this.mem.set(key, pcm);
    this.memBytes += pcm.byteLength;
    for (const [k, v] of this.mem) {
      if (this.memBytes <= this.maxBytes) break;
      this.mem.delete(k);
      this.memBytes -= v.byteLength;
    }
  }

  /**
   * Streams a prompt: from the cache when present (first frame in well under a millisecond in memory), otherwise
   * straight from the engine while teeing the chunks into the cache for next time.
   */
  getOrSynthesize(text: string, engine: TtsEngine, opts: SynthesizeOptions): StreamedPrompt {
    const key = promptKey(text, engine, opts);
    const hit = this.get(key);
    if (hit) {
      return { first: Promise.resolve(hit), all: (async function* () { yield hit; })(), cached: true };
    }
    const chunks: Int16Array[] = [];
    const waiters: (() => void)[] = [];
    let done = false;
    let failure: Error | null = null;
    const wake = () => waiters.splice(0).forEach((w) => w());
    let resolveFirst!: (c: Int16Array) => void;
    let rejectFirst!: (e: Error) => void;
    const first = new Promise<Int16Array>((res, rej) => {
      resolveFirst = res;
      rejectFirst = rej;
    });
    first.catch(() => undefined);
    // The producer runs independently of the consumer, so the render completes (and is cached) even if the
    // caller stops reading, e.g. on barge-in.
    const produce = async () => {
      try {
        for await (const c of engine.synthesize(text, opts)) {
          if (chunks.length === 0) resolveFirst(c);
          chunks.push(c);
          wake();
        }
        const whole = concat(chunks);
        if (chunks.length === 0) resolveFirst(whole);
        this.put(key, whole, { text, engine: engine.id, engineVersion: engine.version ?? '', voice: opts.voice ?? '', sampleRate: opts.sampleRate });
        return whole;
      } catch (e) {
        failure = e as Error;
        rejectFirst(failure);
        throw e;
      } finally {
        done = true;
        wake();
      }
    };
    produce().catch(() => undefined); // the failure reaches the caller through `first` and `all`
    const all = (async function* () {
      let i = 0;
      for (;;) {
        if (i < chunks.length) yield chunks[i++];
        else if (failure) throw failure;
        else if (done) return;
        else await new Promise<void>((r) => waiters.push(r));
      }
    })();
    return { first, all, cached: false };
  }

  /** Renders every text ahead of calls (script approval/loading); returns how many were newly synthesised. */
  async warm(texts: string[], engine: TtsEngine, opts: SynthesizeOptions): Promise<number> {
    let rendered = 0;
    for (const t of texts) {
      if (this.get(promptKey(t, engine, opts))) continue;
      const s = this.getOrSynthesize(t, engine, opts);
      for await (const _ of s.all) void _;
      rendered++;
    }
    return rendered;
  }
}

function concat(parts: Int16Array[]): Int16Array {
  const out = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
