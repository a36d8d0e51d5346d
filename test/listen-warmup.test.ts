// The listen warm-up before /readyz: every shard scores a synthetic call at each wire rate, frame for frame, with
// the real VAD and echo canceller, and the gateway runs it once per process (its workers stay warm).
import { afterAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../gateway/Gateway.js';
import { startGateway } from './helpers/gateway.js';

const gateways: Gateway[] = [];
afterAll(async () => {
  for (const gw of gateways) await gw.stop(0);
});

describe('listen warm-up', () => {
  it('runs every shard at 16 and 8 kHz through every frame before the gateway is ready, once per process', async () => {
    const { gw, http } = await startGateway({ vad: { warmUp: true } });
    gateways.push(gw);
    const { isWarm, warmUpListen } = await import('../gateway/listen/warmUp.js');
    expect(isWarm(gw.listen)).toBe(true);
    expect((await fetch(`${http}/readyz`)).status).toBe(200);
    // What it ran, from the workers' own counters: two seconds per session, one session per shard and rate.
    const st = gw.listen.stats();
    const sessions = 2 * st.shards;
    expect(st.frames).toBeGreaterThanOrEqual(sessions * Math.floor((2 * 16000) / 512));
    expect(st.sessions).toBe(0); // every warm-up session closed
    const again = await warmUpListen(gw.listen, st.shards);
    expect(again).toMatchObject({ sessions, frames: sessions * Math.floor((2 * 16000) / 512) });
    // A second gateway in the same process finds the workers warm and skips it.
    const before = gw.listen.stats().frames;
    const second = await startGateway({ vad: { warmUp: true } });
    gateways.push(second.gw);
    expect(second.gw.listen.stats().frames).toBe(before);
  }, 30_000);
});
