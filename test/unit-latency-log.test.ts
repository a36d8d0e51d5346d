// gateway/call/LatencyLog.ts: the per-call figures in call_summary.
import { describe, expect, it } from 'vitest';
import { LatencyLog } from '../gateway/call/LatencyLog.js';

describe('LatencyLog', () => {
  it('reports nearest-rank percentiles of each sample and the barge-in latencies', () => {
    const log = new LatencyLog();
    for (let i = 100; i >= 1; i--) log.inboundFrame(i / 10); // 0.1 … 10 ms, fed in reverse order
    for (const v of [5, 1, 3]) log.vadFrame(v);
    log.bargeIn({ promptId: 'p', onsetT: 1000, pauseT: 1064, commitT: 1352 });
    log.stopAfterDecision(7);
    const r = log.report() as Record<string, any>;
    expect(r.inboundFrameMs).toEqual({ p50: 5, p95: 9.5, max: 10, n: 100 });
    expect(r.vadFrameMs).toEqual({ p50: 3, p95: 5, max: 5, n: 3 });
    expect(r.firstAudioMs).toEqual({ p50: null, p95: null, n: 0 });
    expect(r.bargeIns).toEqual([{ promptId: 'p', onsetT: 1000, pauseT: 1064, commitT: 1352, stopMs: 7, pauseLatencyMs: 64, commitLatencyMs: 352 }]);
  });
});
