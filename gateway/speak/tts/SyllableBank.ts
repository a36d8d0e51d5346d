// The syllable recordings as ready-to-join units: each MP3 is decoded once (through promptImport, the ffmpeg
// wrapper) with a 90 Hz high-pass (the recordings carry a low-frequency hum as loud as their fricatives), trimmed of silence and RMS-normalised, then kept in memory and — because an ffmpeg decode costs
// ~150 ms — written to an on-disk PCM cache so that a restarted gateway reads raw samples instead.
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { int16ToFloat, floatToInt16 } from '../../audio/codec.js';
import { rootLogger } from '../../ops/log.js';
import { decodeToPcm } from '../promptImport.js';
import { activeRms, scaled, trimSilence } from './pcmOps.js';

export const BANK_RATE = 16000;
/** Voiced-part RMS every unit is brought to (about −20 dBFS), so loudness does not jump between syllables. */
const TARGET_RMS = 0.1;
/** Bump when trimming/normalisation changes, so stale disk caches are rebuilt. */
export const BANK_VERSION = 'v5';

const log = rootLogger.child({ mod: 'syllable-bank' });

export class SyllableBank {
  private readonly names: Set<string>;
  private readonly mem = new Map<string, Promise<Float32Array>>();
  private readonly cacheDir: string | null;
  private active = 0;
  private readonly queue: (() => void)[] = [];

  /** @param mp3Dir folder of `<pinyin><tone>.mp3`; @param cacheDir where decoded PCM is kept (null = memory only). */
  constructor(
    readonly mp3Dir: string,
    cacheDir: string | null,
    private readonly maxParallelDecodes = 2,
  ) {
    this.names = new Set(readdirSync(mp3Dir).filter((f) => f.endsWith('.mp3')).map((f) => f.slice(0, -4)));
    this.cacheDir = cacheDir ? join(cacheDir, BANK_VERSION) : null;
    if (this.cacheDir) mkdirSync(this.cacheDir, { recursive: true });
  }

  get size(): number {
    return this.names.size;
  }

  /** File name for a syllable: ü is written `uu` in this set (lv3 → luu3, nve4 → nuue4). */
  static fileName(pinyin: string, tone: number): string {
    return `${pinyin.replace(/v/g, 'uu')}${tone}`;
  }

  has(name: string): boolean {
    return this.names.has(name);
  }

  /** Trimmed, normalised 16 kHz unit; decoded at most once per process. */
  get(name: string): Promise<Float32Array> {
    let p = this.mem.get(name);
    if (!p) {
      p = this.load(name);
      this.mem.set(name, p);
      p.catch(() => this.mem.delete(name));
    }
    return p;
  }

  private async load(name: string): Promise<Float32Array> {
    if (!this.names.has(name)) throw new Error(`syllable "${name}" is not in ${this.mp3Dir}`);
    const cached = this.cacheDir ? join(this.cacheDir, `${name}.pcm`) : null;
    if (cached && existsSync(cached)) {
      const b = readFileSync(cached);
      const pcm = new Int16Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
      return int16ToFloat(pcm);
    }
    const pcm = await this.limited(() => decodeToPcm(join(this.mp3Dir, `${name}.mp3`), BANK_RATE, { highpassHz: 90 }));
    const trimmed = trimSilence(int16ToFloat(pcm), BANK_RATE);
    const unit = scaled(trimmed, TARGET_RMS / Math.max(1e-4, activeRms(trimmed, BANK_RATE)));
    if (cached) {
      try {
        const tmp = `${cached}.${process.pid}.tmp`;
        const i16 = floatToInt16(unit);
        writeFileSync(tmp, Buffer.from(i16.buffer, i16.byteOffset, i16.byteLength));
        renameSync(tmp, cached); // atomic: a concurrent reader never sees half a file
      } catch (e) {
        log.warn({ err: (e as Error).message, name }, 'cannot write syllable cache; continuing from memory');
      }
    }
    return unit;
  }

  /** Decodes every syllable into the disk cache (a one-off `warm` step for deployments; ~2 min on 2 cores). */
  async prebuild(): Promise<void> {
    await Promise.all([...this.names].map((n) => this.get(n)));
  }

  // ffmpeg processes compete with live calls for the same cores: cap how many run at once.
  private async limited<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.maxParallelDecodes) await new Promise<void>((r) => this.queue.push(r));
    this.active++;
    try {
      return await fn();
    } finally {
      this.active--;
      this.queue.shift()?.();
    }
  }
}
