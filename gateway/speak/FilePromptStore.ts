// Recorded prompts as files under `<dataDir>/prompts/`: `<hex id>.16k.pcm`, `.8k.pcm` and a JSON sidecar written
// last by rename, so a prompt exists once its sidecar does and is never seen half-written.
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pcmBytes, pcmFromBytes, type PromptStore, type RecordedPromptInfo, type StoredPrompt } from './PromptStore.js';

export class FilePromptStore implements PromptStore {
  readonly dir: string;

  constructor(dataDir: string) {
    this.dir = join(dataDir, 'prompts');
    mkdirSync(this.dir, { recursive: true });
  }

  async loadAll(onSkip?: (what: string, err: Error) => void): Promise<StoredPrompt[]> {
    const out: StoredPrompt[] = [];
    for (const f of readdirSync(this.dir)) {
      if (!f.endsWith('.json')) continue;
      try {
        out.push(this.read(join(this.dir, f.slice(0, -'.json'.length))));
      } catch (e) {
        onSkip?.(f, e as Error);
      }
    }
    return out;
  }

  async load(promptId: string): Promise<StoredPrompt | null> {
    const base = join(this.dir, fileStem(promptId));
    return existsSync(`${base}.json`) ? this.read(base) : null;
  }

  async insert(p: StoredPrompt): Promise<{ stored: RecordedPromptInfo; created: boolean }> {
    const base = join(this.dir, fileStem(p.info.promptId));
    if (existsSync(`${base}.json`)) return { stored: this.read(base).info, created: false };
    writeFileSync(`${base}.16k.pcm`, pcmBytes(p.pcm16k));
    writeFileSync(`${base}.8k.pcm`, pcmBytes(p.pcm8k));
    writeFileSync(`${base}.json.tmp`, JSON.stringify(p.info));
    renameSync(`${base}.json.tmp`, `${base}.json`);
    return { stored: p.info, created: true };
  }

  private read(base: string): StoredPrompt {
    const info = JSON.parse(readFileSync(`${base}.json`, 'utf8')) as RecordedPromptInfo;
    if (!existsSync(`${base}.16k.pcm`) || !existsSync(`${base}.8k.pcm`)) throw new Error('PCM files missing');
    return { info, pcm16k: pcmFromBytes(readFileSync(`${base}.16k.pcm`)), pcm8k: pcmFromBytes(readFileSync(`${base}.8k.pcm`)) };
  }
}

/** Ids may hold characters a file name should not start with or contain on every system: hex of the id. */
function fileStem(promptId: string): string {
  return Buffer.from(promptId, 'utf8').toString('hex');
}
