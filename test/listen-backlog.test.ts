// gateway/listen/ListenService.ts: the audio waiting for a shard's busy worker is capped (issue #13, item 3).
import { describe, expect, it } from 'vitest';
import { ConfigSchema } from '../gateway/config.js';
import { ListenService } from '../gateway/listen/ListenService.js';
import { isResolved, resolveModel } from '../gateway/models.js';

describe('listen shard backlog cap', () => {
  it('audio past maxPendingSamples is refused (-1, nothing taken) until the worker takes the backlog', async () => {
    const model = resolveModel('silero-vad-v5');
    if (!isResolved(model)) throw new Error('model missing');
    const svc = await ListenService.start({
      backend: 'silero-ort', modelPath: model.files.model, tickMs: 16, threads: 1, shards: 1,
      echo: ConfigSchema.parse({}).echo, maxPendingSamples: 16000,
    });
    const frames: number[] = [];
    const a = svc.open({ frame: (f) => frames.push(f.index) });
    const b = svc.open({ frame: () => undefined });
    const frame = new Int16Array(320);
    // Synchronously, so nothing reaches the worker meanwhile: 50 frames of 320 samples fill the 16,000.
    let taken = 0;
    for (let i = 0; i < 25; i++) {
      if (a.pushPcm16(frame) > 0) taken++;
      if (b.pushPcm16(frame) > 0) taken++;
    }
    expect(taken).toBe(50);
    // Another call's audio is refused as well: the cap is the shard's, not one call's.
    expect(b.pushPcm16(frame)).toBe(-1);
    expect(a.pushPcm16(frame)).toBe(-1);
    // Once the backlog went to the worker there is room again, and the audio that was taken is all scored.
    await new Promise((r) => setTimeout(r, 100));
    expect(a.pushPcm16(frame)).toBe(320);
    for (let i = 0; i < 100 && frames.length < 20; i++) await new Promise((r) => setTimeout(r, 20));
    expect(frames.length).toBe(Math.floor((26 * 320) / 512));
    a.close();
    b.close();
    await svc.close();
  });

  it('runs its flush timer only while some gateway holds the service; the workers stay for the process', async () => {
    const model = resolveModel('silero-vad-v5');
    if (!isResolved(model)) throw new Error('model missing');
    const opts = { backend: 'silero-ort' as const, modelPath: model.files.model, tickMs: 16, threads: 1, shards: 1, echo: ConfigSchema.parse({}).echo, maxPendingSamples: 8000 };
    const a = await ListenService.start(opts);
    const b = await ListenService.start(opts);
    expect(b).toBe(a);
    expect(a.ticking).toBe(true);
    await a.close();
    expect(a.ticking).toBe(true);
    await b.close();
    expect(a.ticking).toBe(false);
    // Held again, the same workers score again.
    const c = await ListenService.start(opts);
    expect(c).toBe(a);
    expect(c.ticking).toBe(true);
    const frames: number[] = [];
    const s = c.open({ frame: (f) => frames.push(f.index) });
    for (let i = 0; i < 4; i++) s.pushPcm16(new Int16Array(512));
    for (let i = 0; i < 100 && frames.length < 4; i++) await new Promise((r) => setTimeout(r, 20));
    expect(frames).toEqual([0, 1, 2, 3]);
    s.close();
    await c.close();
    expect(c.ticking).toBe(false);
  });
});
