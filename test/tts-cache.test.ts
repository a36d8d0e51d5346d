// Prompt cache behaviour and time-to-first-audio, cached vs uncached, for both embedded engines.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { collectPcm, EspeakEngine, PromptCache, promptKey, renderTemplate, speakTemplate, SyllableVoice, TtsRegistry, templateFixedParts, type TtsEngine } from '../gateway/speak/index.js';

const opts = { language: 'zh' as const, sampleRate: 8000 as const };

describe('PromptCache', () => {
  // Its own decoded-syllable cache for this run: nothing shared with other runs through a fixed $TMPDIR path.
  const syllable = new SyllableVoice({ dataDir: mkdtempSync(join(tmpdir(), 'earshot-tts-cache-')) });
  const espeak = new EspeakEngine();

  for (const engine of [syllable, espeak] as TtsEngine[]) {
    it(`${engine.id}: a cached prompt's first frame is ready within a few ms`, async () => {
      const dataDir = mkdtempSync(join(tmpdir(), 'tts-cache-'));
      const cache = new PromptCache({ dataDir });
      const text = `您好，这里是客服中心，您本月账单${Math.floor(Math.random() * 9000) + 1000}元。`;
      let t0 = performance.now();
      const miss = cache.getOrSynthesize(text, engine, opts);
      await miss.first;
      const uncached = performance.now() - t0;
      const whole = await collectPcm(miss.all);
      expect(miss.cached).toBe(false);
      // Give the producer a tick to write the cache after the last chunk.
      await new Promise((r) => setTimeout(r, 20));
      t0 = performance.now();
      const hit = cache.getOrSynthesize(text, engine, opts);
      await hit.first;
      const cachedMem = performance.now() - t0;
      const fresh = new PromptCache({ dataDir }); // a restarted gateway: disk tier only
      t0 = performance.now();
      const disk = fresh.getOrSynthesize(text, engine, opts);
      await disk.first;
      const cachedDisk = performance.now() - t0;
      process.stdout.write(`[tts-ttfa] ${engine.id} @8k: uncached ${uncached.toFixed(1)} ms, cached memory ${cachedMem.toFixed(2)} ms, cached disk ${cachedDisk.toFixed(2)} ms, prompt ${(whole.length / 8000).toFixed(2)} s\n`);
      expect(hit.cached && disk.cached).toBe(true);
      expect(await collectPcm(disk.all)).toEqual(whole);
      // Timings are printed above and measured by the bench; a unit test asserts what was served, not how fast.
      expect(whole.length / 8000).toBeGreaterThan(1.5);
    });
  }

  it('streams the first phrase before the whole prompt is rendered', async () => {
    const chunks: Int16Array[] = [];
    for await (const c of syllable.synthesize('您好，请问是张先生吗？我们这里是银行客服中心。', opts)) chunks.push(c);
    expect(chunks.length).toBeGreaterThanOrEqual(3);
  });

  it('keys on text, engine, voice and rate; evicts by bytes', () => {
    const a = promptKey('你好', syllable, opts);
    expect(promptKey('你好', syllable, { ...opts, sampleRate: 16000 })).not.toBe(a);
    expect(promptKey('你好', espeak, opts)).not.toBe(a);
    const cache = new PromptCache({ dataDir: mkdtempSync(join(tmpdir(), 'tts-cache-')), maxMemoryBytes: 1000 });
    cache.put('k1', new Int16Array(400), { text: 'a', engine: 'x', engineVersion: '', voice: '', sampleRate: 8000 });
    cache.put('k2', new Int16Array(400), { text: 'b', engine: 'x', engineVersion: '', voice: '', sampleRate: 8000 });
    expect(cache.memoryBytes).toBe(800);
    expect(cache.get('k1')?.length).toBe(400); // evicted from memory, read back from disk
  });

  it('renders templates into cached fixed parts and call-time slots', async () => {
    const segs = renderTemplate('您好{name}，您的账单{amount}元', { name: '张先生', amount: 5000 });
    expect(segs).toEqual([
      { kind: 'fixed', text: '您好' },
      { kind: 'slot', name: 'name', text: '张先生' },
      { kind: 'fixed', text: '，您的账单' },
      { kind: 'slot', name: 'amount', text: '5000' },
      { kind: 'fixed', text: '元' },
    ]);
    expect(templateFixedParts('您好{name}，您的账单{amount}元')).toEqual(['您好', '，您的账单', '元']);
    expect(() => renderTemplate('您好{name}', {})).toThrow(/\{name\}/);
    const cache = new PromptCache({ dataDir: mkdtempSync(join(tmpdir(), 'tts-cache-')) });
    expect(await cache.warm(templateFixedParts('您好{name}，您的账单{amount}元'), espeak, opts)).toBe(3);
    const played = speakTemplate(segs, cache, espeak, opts);
    expect(played.filter((p) => 'cached' in p.audio && p.audio.cached).length).toBe(3);
  });

  it('registry picks by id or language default with clear errors', () => {
    const reg = new TtsRegistry().register(syllable, { defaultFor: ['zh'] }).register(espeak, { defaultFor: ['en'] });
    expect(reg.pick({ language: 'zh' }).id).toBe('syllable');
    expect(reg.pick({ language: 'en' }).id).toBe('espeak');
    expect(reg.pick({ engine: 'espeak', language: 'zh' }).id).toBe('espeak');
    expect(() => reg.pick({ engine: 'syllable', language: 'en' })).toThrow(/cannot speak "en"/);
    expect(() => reg.pick({ engine: 'nope', language: 'zh' })).toThrow(/not registered.*syllable, espeak/);
  });

  it('espeak speaks English at 16 kHz', async () => {
    const pcm = await collectPcm(espeak.synthesize('Hello, this is a test call. Goodbye.', { language: 'en', sampleRate: 16000 }));
    expect(pcm.length / 16000).toBeGreaterThan(1);
  });
});
