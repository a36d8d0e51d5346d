// The same PromptStore tests on both engines: files in a data dir, and a real PostgreSQL server shared by two
// instances (where an upload on one is announced to the other).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PromptLibrary } from '../gateway/speak/PromptLibrary.js';
import { AUDIO_DIR } from './helpers/corpus.js';
import { FilePromptStore } from '../gateway/speak/FilePromptStore.js';
import { PgPromptStore } from '../gateway/speak/PgPromptStore.js';
import type { PromptStore, StoredPrompt } from '../gateway/speak/PromptStore.js';
import { Postgres } from '../gateway/store/postgres/Postgres.js';
import { twoInstances, useCluster } from './helpers/postgres.js';
import { until } from './helpers/until.js';

const cluster = useCluster();

interface Engine {
  name: string;
  shared: boolean;
  open(): Promise<{ a: PromptStore; b: PromptStore; close: () => Promise<void> }>;
}

const engines: Engine[] = [
  {
    name: 'files',
    shared: false,
    async open() {
      const dir = mkdtempSync(join(tmpdir(), 'earshot-prompts-'));
      return { a: new FilePromptStore(dir), b: new FilePromptStore(dir), close: async () => rmSync(dir, { recursive: true, force: true }) };
    },
  },
  {
    name: 'postgres',
    shared: true,
    async open() {
      const { pa, pb, close } = await twoInstances(cluster());
      const [a, b] = await Promise.all([PgPromptStore.open(pa), PgPromptStore.open(pb)]);
      await Promise.all([pa.listening(), pb.listening()]);
      return { a, b, close };
    },
  },
];

function prompt(id: string, seed: number, odd = false): StoredPrompt {
  // An odd-length 8 kHz track and extreme sample values catch byte-order and alignment mistakes.
  const pcm16k = Int16Array.from({ length: 1600 }, (_, i) => (i === 0 ? -32768 : i === 1 ? 32767 : Math.round(8000 * Math.sin(i * seed))));
  const pcm8k = Int16Array.from({ length: odd ? 801 : 800 }, (_, i) => Math.round(-6000 * Math.cos(i * seed)));
  return { info: { promptId: id, sha256: `sha-${id}`, durationMs: 100, loudnessLufs: seed === 1 ? null : -20.5, addedAt: '2026-01-01T00:00:00.000Z' }, pcm16k, pcm8k };
}

describe.each(engines)('PromptStore on $name', (engine) => {
  it('round-trips the PCM at both rates exactly, and reads it from the other instance', async () => {
    const { a, b, close } = await engine.open();
    try {
      const p = prompt('greeting.v1', 1, true);
      expect(await a.insert(p)).toEqual({ stored: p.info, created: true });
      const got = await b.load('greeting.v1');
      expect(got?.info).toEqual(p.info);
      expect(Array.from(got!.pcm16k)).toEqual(Array.from(p.pcm16k));
      expect(Array.from(got!.pcm8k)).toEqual(Array.from(p.pcm8k));
      expect(await b.load('nope')).toBeNull();
      await b.insert(prompt('offer:ä@2', 2));
      expect((await a.loadAll()).map((x) => x.info.promptId).sort()).toEqual(['greeting.v1', 'offer:ä@2']);
    } finally {
      await close();
    }
  });

  it('a prompt id is immutable: a second insert returns the first', async () => {
    const { a, b, close } = await engine.open();
    try {
      await a.insert(prompt('p', 1));
      const other = prompt('p', 3);
      other.info.sha256 = 'different';
      expect(await b.insert(other)).toEqual({ stored: prompt('p', 1).info, created: false });
      expect(Array.from((await a.load('p'))!.pcm16k)).toEqual(Array.from(prompt('p', 1).pcm16k));
    } finally {
      await close();
    }
  });

  it.runIf(engine.shared)('announces an upload on one instance to the other', async () => {
    const { a, b, close } = await engine.open();
    try {
      const heard: string[] = [];
      b.onAdded!((id) => heard.push(id));
      await a.insert(prompt('news', 2));
      await until(() => heard.includes('news'), 5000, 'the added-prompt notification');
    } finally {
      await close();
    }
  });
});

describe('PromptLibrary over a shared store', () => {
  it('an upload to one instance plays on the other as soon as it is announced; a conflicting upload is refused there', async () => {
    const { pa, pb } = await twoInstances(cluster());
    const dir = mkdtempSync(join(tmpdir(), 'earshot-lib-'));
    try {
      const [a, b] = await Promise.all([
        PromptLibrary.open({ dataDir: dir, maxPromptMs: 60_000, store: await PgPromptStore.open(pa) }),
        PromptLibrary.open({ dataDir: dir, maxPromptMs: 60_000, store: await PgPromptStore.open(pb) }),
      ]);
      await Promise.all([pa.listening(), pb.listening()]);
      const wav = readFileSync(join(AUDIO_DIR, 'bargein/prompts/p01.wav'));
      const { info, created } = await a.put('greeting', wav, { loudnessLufs: null });
      expect(created).toBe(true);
      await until(() => b.pcm('greeting', 8000) !== undefined, 5000, 'the prompt on instance B');
      expect(Array.from(b.pcm('greeting', 16000)!)).toEqual(Array.from(a.pcm('greeting', 16000)!));
      expect(b.info('greeting')).toEqual(info);
      expect(await b.put('greeting', wav, { loudnessLufs: null })).toEqual({ info, created: false });
      await expect(b.put('greeting', wav, { loudnessLufs: -20 })).rejects.toMatchObject({ code: 'prompt_exists' });
      await a.close();
      await b.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
      await pa.close();
      await pb.close();
    }
  });
});
