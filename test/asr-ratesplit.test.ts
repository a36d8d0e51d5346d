// asr/backends.ts RateSplit: a narrowband call's stream is made and batch-decoded by the narrowband engine, every
// other stream by the wideband one (fake engines: which engine a stream belongs to is all that is checked here).
import { describe, expect, it } from 'vitest';
import { RateSplit } from '../gateway/listen/asr/backends.js';
import type { AsrEngine, EngineStream } from '../gateway/listen/asr/engine.js';

class FakeEngine implements AsrEngine {
  readonly made: EngineStream[] = [];
  readonly batches: EngineStream[][] = [];
  constructor(
    readonly name: string,
    readonly dynamicBatch = true,
  ) {}
  createStream(): EngineStream {
    const s = { owner: this.name, accept() {}, isReady: () => false, decode() {}, result: () => ({ text: '', tokens: [] }), inputFinished() {} } as unknown as EngineStream;
    this.made.push(s);
    return s;
  }
  decodeBatch(streams: EngineStream[]): void {
    this.batches.push(streams);
  }
}

describe('RateSplit', () => {
  it('creates each stream with the engine of its rate and decodes each batch with the owning engine', () => {
    const wide = new FakeEngine('wide');
    const narrow = new FakeEngine('narrow');
    const e = new RateSplit(wide, narrow);
    expect(e.name).toBe('wide; 8 kHz calls: narrow');
    const w1 = e.createStream();
    const n1 = e.createStream({ narrowband: true });
    const w2 = e.createStream({ narrowband: false, secondOpinions: true });
    expect(wide.made).toEqual([w1, w2]);
    expect(narrow.made).toEqual([n1]);
    e.decodeBatch!([w1, n1, w2]);
    expect(wide.batches).toEqual([[w1, w2]]);
    expect(narrow.batches).toEqual([[n1]]);
    e.decodeBatch!([w1]);
    expect(narrow.batches).toHaveLength(1);
  });

  it('batches only when both engines do', () => {
    const e = new RateSplit(new FakeEngine('wide', true), new FakeEngine('narrow', false));
    expect(e.dynamicBatch).toBe(false);
    expect(e.decodeBatch).toBeUndefined();
  });
});
