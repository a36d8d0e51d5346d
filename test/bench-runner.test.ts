// The bench's call runner against a fake wire: the caller track must start when the first prompt frame arrives
// (the caller file's t = 0 is the start of playback at the far end), not when `play` is sent; a gateway without
// consent must not turn consent scenarios into failures.
import { describe, expect, it } from 'vitest';
import { performance } from 'node:perf_hooks';
import { runCall } from '../bench/callRunner.js';
import { Pacer } from '../bench/pacer.js';
import { computeMetrics } from '../bench/metrics.js';
import type { Scenario } from '../bench/scenarios.js';
import type { GatewayEvent, Wire, WireCall, WireHandlers } from '../bench/wires/types.js';

const frame = new Uint8Array(640);

function scenario(over: Partial<Scenario> = {}): Scenario {
  return {
    id: 'bargein/sX', kind: 'bargein', labelKind: 'barge_in', expected: 'barge_in', onsetMs: 100, endMs: 200, lang: 'zh', hasEcho: false,
    callerFrames: Array.from({ length: 10 }, () => frame), callerMs: 200, prompt: { id: 'p', base64: 'AAAA', ms: 1000, file: 'p.wav' }, ...over,
  };
}

/** A wire whose "gateway" answers ready at once and sends the first prompt frame `firstAudioMs` after `play`. */
function fakeWire(opts: { firstAudioMs?: number; onExpectConsent?: (h: WireHandlers) => void; log?: string[] }): Wire {
  return {
    name: 'fake',
    async connect(_url, h) {
      const ev = (e: GatewayEvent) => h.onEvent(e, performance.now());
      const call: WireCall = {
        async start() {},
        sendAudio() {
          opts.log?.push(`audio@${performance.now().toFixed(1)}`);
        },
        play() {
          opts.log?.push('play');
          if (opts.firstAudioMs !== undefined) setTimeout(() => h.onAudio(frame, performance.now()), opts.firstAudioMs);
        },
        expectConsent() {
          opts.log?.push('expect_consent');
          opts.onExpectConsent?.(h);
        },
        hangup() {
          setTimeout(() => ev({ type: 'call_summary', t: 0 }), 1);
        },
        close() {},
        bufferedBytes: () => 0,
      };
      return call;
    },
  };
}

const audio = { encoding: 'pcm16' as const, sampleRate: 16000 as const };

describe('call runner', () => {
  it('starts the caller track on the first prompt frame, not on play', async () => {
    const pacer = new Pacer();
    const rec = await runCall({ wire: fakeWire({ firstAudioMs: 60 }), url: 'x', token: null, scenario: scenario(), audio, pacer, callId: 'c', sendPrompts: true });
    pacer.stop();
    expect(rec.ok).toBe(true);
    expect(rec.promptFrames.length).toBe(1);
    expect(rec.playSentAt).not.toBeNull();
    expect(rec.promptFrames[0] - rec.playSentAt!).toBeGreaterThanOrEqual(55);
    // Frame 0 leaves in the first frame's handler: same instant, not a 5 ms pacer tick later.
    expect(rec.trackStartAt).toBe(rec.frameSentAt[0]);
    expect(rec.frameSentAt[0] - rec.promptFrames[0]).toBeLessThan(2);
    expect(rec.frameSentAt.length).toBe(10);
    // Real-time pace from there: frame k is due 20·k ms after frame 0.
    expect(rec.frameSentAt[9] - rec.frameSentAt[0]).toBeGreaterThanOrEqual(180);
  });

  it('fails a call whose prompt never starts instead of streaming a misaligned track', async () => {
    const pacer = new Pacer();
    const wire = fakeWire({});
    const w: Wire = {
      name: 'f',
      async connect(u, h, t) {
        const c = await wire.connect(u, h, t);
        return { ...c, play: () => setTimeout(() => h.onEvent({ type: 'error', code: 'queue_full', t: 0 }, performance.now()), 5) };
      },
    };
    const rec = await runCall({ wire: w, url: 'x', token: null, scenario: scenario(), audio, pacer, callId: 'c', sendPrompts: true });
    pacer.stop();
    expect(rec.ok).toBe(false);
    expect(rec.error).toMatch(/queue_full/);
    expect(rec.frameSentAt.length).toBe(0);
  });

  it('peers without playout stream at once', async () => {
    const pacer = new Pacer();
    const rec = await runCall({ wire: fakeWire({}), url: 'x', token: null, scenario: scenario(), audio, pacer, callId: 'c', sendPrompts: false });
    pacer.stop();
    expect(rec.ok).toBe(true);
    expect(rec.playSentAt).toBeNull();
    expect(rec.frameSentAt.length).toBe(10);
  });

  it('ends a consent call early on consent_unavailable and counts it apart from failures and errors', async () => {
    const pacer = new Pacer();
    const log: string[] = [];
    const wire = fakeWire({ log, onExpectConsent: (h) => setTimeout(() => h.onEvent({ type: 'error', code: 'consent_unavailable', t: 0 }, performance.now()), 5) });
    const s = scenario({ kind: 'consent', labelKind: 'consent', expected: 'granted', prompt: null, callerFrames: Array.from({ length: 100 }, () => frame) });
    const t0 = performance.now();
    const rec = await runCall({ wire, url: 'x', token: null, scenario: s, audio, pacer, callId: 'c', sendPrompts: true });
    pacer.stop();
    expect(performance.now() - t0).toBeLessThan(1000); // not 2 s of answer + 2.5 s of tail
    expect(rec.ok).toBe(true);
    expect(rec.consentUnavailable).toBe(true);
    const m = computeMetrics([rec]);
    expect(m.counters.consentUnavailable).toBe(1);
    expect(m.counters.consentMissing).toBe(0);
    expect(m.counters.errorEvents).toBe(0);
    expect(m.counters.failedCalls).toBe(0);
  });

  it('with a consent prompt sends play before expect_consent and aligns the answer to the first frame', async () => {
    const pacer = new Pacer();
    const log: string[] = [];
    const wire = fakeWire({ log, firstAudioMs: 30, onExpectConsent: (h) => setTimeout(() => h.onEvent({ type: 'consent', decision: 'granted', t: 300, speechEndT: 250 }, performance.now()), 100) });
    const s = scenario({ kind: 'consent', labelKind: 'consent', expected: 'granted', callerFrames: Array.from({ length: 100 }, () => frame) });
    const rec = await runCall({ wire, url: 'x', token: null, scenario: s, audio, pacer, callId: 'c', sendPrompts: true });
    pacer.stop();
    expect(log.slice(0, 2)).toEqual(['play', 'expect_consent']);
    expect(rec.frameSentAt[0]).toBeGreaterThanOrEqual(rec.promptFrames[0]);
    expect(computeMetrics([rec]).counters.consentCorrect).toBe(1);
  });
});
