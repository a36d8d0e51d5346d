// gateway/wires/shared/BufferingFarEnd.ts (Twilio, Vonage): every message to the far end checks the socket's buffer;
// a far end that stops reading fails its call as slow_consumer once, and nothing more is queued for it.
import { describe, expect, it } from 'vitest';
import type { Call } from '../gateway/call/Call.js';
import type { WireContext } from '../gateway/call/wire.js';
import { loadConfig } from '../gateway/config.js';
import { rootLogger } from '../gateway/ops/log.js';
import { metrics } from '../gateway/ops/metrics.js';
import { BufferingFarEnd } from '../gateway/wires/shared/BufferingFarEnd.js';

class FakeSocket {
  readonly OPEN = 1;
  readyState = 1;
  bufferedAmount = 0;
  sent: unknown[] = [];
  terminated = 0;
  send(data: unknown): void {
    this.sent.push(data);
  }
  terminate(): void {
    this.terminated++;
  }
  close(): void {}
  on(): void {}
}

/** The smallest wire: a message per mark, clear and frame, as Twilio writes them. */
class TestFarEnd extends BufferingFarEnd {
  protected log = rootLogger;
  setCall(call: Call): void {
    this.call = call;
  }
  protected onMessage(): void {}
  protected writeAudio(bytes: Uint8Array): void {
    this.sendJson({ event: 'media', n: bytes.length });
  }
  protected writeClear(): void {
    this.sendJson({ event: 'clear' });
  }
  protected writeMark(endMs: number): void {
    this.sendJson({ event: 'mark', endMs });
  }
  protected closeInfo(): Record<string, unknown> {
    return {};
  }
  mark(): void {
    this.writeMark(0);
  }
}

function farEnd() {
  const config = loadConfig({});
  const ws = new FakeSocket();
  const socket = { cork() {}, uncork() {}, pause() {} };
  const end = new TestFarEnd(ws as never, socket, { config } as unknown as WireContext, 10);
  return { end, ws, limit: config.playout.maxSocketBufferBytes };
}

async function slowConsumerErrors(): Promise<number> {
  const m = await metrics.errors.get();
  return m.values.filter((v) => v.labels.code === 'slow_consumer').reduce((a, v) => a + v.value, 0);
}

describe('BufferingFarEnd backpressure', () => {
  it('sends while the far end keeps up', () => {
    const { end, ws } = farEnd();
    end.mark();
    end.clearAudio('p');
    expect(ws.sent[0]).toBe('{"event":"mark","endMs":0}');
    expect(ws.sent).toContain('{"event":"clear"}');
  });

  it('a far end that stops reading fails its call as slow_consumer once; nothing more is queued for it', async () => {
    const { end, ws, limit } = farEnd();
    const fails: unknown[][] = [];
    end.setCall({ isEnded: false, fail: (...a: unknown[]) => fails.push(a), emit() {}, observe() {} } as unknown as Call);
    ws.bufferedAmount = limit + 1;
    for (let i = 0; i < 100; i++) end.mark();
    await Promise.resolve();
    expect(fails).toEqual([['slow_consumer', expect.any(String), 1008]]);
    expect(ws.sent).toHaveLength(0);
    // Reading again does not bring the stream back: its call is ending.
    ws.bufferedAmount = 0;
    end.mark();
    expect(ws.sent).toHaveLength(0);
    // The call's close drops the socket without a closing handshake.
    end.close(1008, 'slow_consumer');
    expect(ws.terminated).toBe(1);
  });

  it('before any call, the stream is dropped and counted', async () => {
    const { end, ws, limit } = farEnd();
    const before = await slowConsumerErrors();
    ws.bufferedAmount = limit + 1;
    end.mark();
    expect(ws.terminated).toBe(1);
    expect(await slowConsumerErrors()).toBe(before + 1);
  });

  it('prompt audio waits (returns false) while the buffer is over the limit, rather than queueing', () => {
    const { end, ws, limit } = farEnd();
    ws.bufferedAmount = limit + 1;
    expect(end.sendAudio(new Uint8Array(160), { promptId: 'p', offsetMs: 0 })).toBe(false);
    ws.bufferedAmount = 0;
    expect(end.sendAudio(new Uint8Array(160), { promptId: 'p', offsetMs: 0 })).toBe(true);
    expect(ws.sent).toHaveLength(1);
  });
});
