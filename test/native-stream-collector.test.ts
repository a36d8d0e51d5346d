// gateway/infer/NativeStreamCollector.ts: sherpa-onnx streams are freed only when collected; the ASR worker runs a
// collection after enough streams were dropped (or shortly after the last), so its memory stays flat.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { NativeStreamCollector, threadGc } from '../gateway/infer/NativeStreamCollector.js';
import { createEngine } from '../gateway/listen/asr/backends.js';
import { isResolved, resolveModel } from '../gateway/models.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('NativeStreamCollector', () => {
  it('collects once every `everyDrops` drops', () => {
    let runs = 0;
    const c = new NativeStreamCollector(() => runs++, 10, 60_000);
    for (let i = 0; i < 35; i++) c.dropped();
    expect(runs).toBe(3);
  });

  it('collects shortly after the last drop when fewer came', () => {
    vi.useFakeTimers();
    let runs = 0;
    const c = new NativeStreamCollector(() => runs++, 64, 2000);
    c.dropped();
    c.dropped();
    vi.advanceTimersByTime(1999);
    expect(runs).toBe(0);
    vi.advanceTimersByTime(1);
    expect(runs).toBe(1);
    vi.advanceTimersByTime(10_000);
    expect(runs).toBe(1);
  });

  it('waits for a moment without pending work, unless maxDrops streams are waiting', () => {
    vi.useFakeTimers();
    let runs = 0;
    let busy = true;
    const c = new NativeStreamCollector(() => runs++, 4, 2000, () => busy, 8, 10);
    for (let i = 0; i < 4; i++) c.dropped();
    expect(runs).toBe(0); // due, but the thread is busy
    vi.advanceTimersByTime(50);
    expect(runs).toBe(0);
    busy = false;
    vi.advanceTimersByTime(10);
    expect(runs).toBe(1);
    busy = true;
    for (let i = 0; i < 7; i++) c.dropped();
    expect(runs).toBe(1);
    c.dropped(); // the eighth: memory first
    expect(runs).toBe(2);
  });

  it('collects the young generation, and everything every `majorEvery`th time', () => {
    const kinds: string[] = [];
    const c = new NativeStreamCollector((k) => kinds.push(k), 1, 60_000, () => false, 2, 10, 4);
    for (let i = 0; i < 8; i++) c.dropped();
    expect(kinds).toEqual(['minor', 'minor', 'minor', 'major', 'minor', 'minor', 'minor', 'major']);
  });

  it('does nothing without a collector', () => {
    const c = new NativeStreamCollector(null, 1, 1);
    for (let i = 0; i < 10; i++) c.dropped();
    expect(c.collections).toBe(0);
  });

  it('gets this thread\'s collector at run time', () => {
    expect(typeof threadGc()).toBe('function');
  });

  // The real keyword spotter (the soak's model): 1500 streams, each fed and dropped as the ASR worker does per
  // utterance. Without collections RSS grew ~0.33 MB per stream (120 → 640 MB over 2000); with them it stays flat —
  // with the minor ones too (a full collection only every 8th would let ~170 MB pile up between two).
  it('keeps RSS flat over 1500 real sherpa streams', async () => {
    const r = resolveModel('zipformer-wenetspeech-kws-3.3m');
    expect(isResolved(r), 'the keyword-spotting model must be available (../shared/models)').toBe(true);
    if (!isResolved(r)) return;
    const engine = createEngine({ mode: 'kws', entry: r.entry, files: r.files, threads: 1, dynamicBatch: false, keywords: 'k ě y ǐ @可以' });
    const c = new NativeStreamCollector(threadGc(), 64, 2000);
    const audio = new Float32Array(3200);
    const warm = async (n: number) => {
      for (let i = 0; i < n; i++) {
        const s = engine.createStream();
        s.accept(audio);
        while (s.isReady()) s.decode();
        c.dropped();
        await new Promise((res) => setImmediate(res));
      }
    };
    await warm(200);
    const rss0 = process.memoryUsage().rss;
    await warm(1500);
    expect(c.collections).toBeGreaterThan(20);
    expect(process.memoryUsage().rss - rss0).toBeLessThan(100 * 1024 * 1024);
  }, 60_000);
});
