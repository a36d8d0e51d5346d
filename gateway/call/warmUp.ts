// Warms the main thread's call path before the gateway says it is ready. In the soak, calls started in the first two
// seconds were late far more often than any others (README, "Runs 22–29: the first seconds": 6 of 29 late calls
// from ~0.7 % of the calls). There V8's optimising compiler was finishing 118–220 functions per 2 s on its helper
// threads, against 6–64 later, and after 20 s of uncounted calls three 1-minute soaks had no late call at all. The
// listen workers have their own warm-up (listen/warmUp.ts); this one runs a few synthetic calls through `Call`
// itself — inbound audio, the listen shards' replies, the barge-in policy, the playout and its encoding — at real
// time, so the hot functions are compiled before the first real call needs them.
//
// A warm-up call is never registered: no feature sees it (no admission, record, evidence, webhook or event-log
// entry), its events and audio go nowhere, and its logger only passes warnings. /metrics counts it under
// wire="warm-up" like any call, so the gauges and histograms stay honest about what ran.
import type { Logger } from 'pino';
import { encode, type Encoding } from '../audio/codec.js';
import { seededNoise } from '../audio/seededNoise.js';
import type { Config } from '../config.js';
import type { ListenService } from '../listen/ListenService.js';
import type { Pacer } from '../speak/Playout.js';
import { Call, type CallSink } from './Call.js';
import { sharedRun, type SharedRun } from '../ops/sharedRun.js';

export interface CallWarmUpResult {
  calls: number;
  inboundFrames: number;
  promptFrames: number;
  ms: number;
}

const FRAME_MS = 20;

/** A voice-like signal at `rate`: four syllable-long swells a second of a 150 Hz buzz with noise, about −28 dBFS. */
function promptPcm(rate: number, seconds: number, seed: number): Int16Array {
  const out = new Int16Array(Math.round(rate * seconds));
  const hiss = seededNoise(out.length, seed, 0.25);
  for (let i = 0; i < out.length; i++) {
    const t = i / rate;
    const syllable = Math.sin(Math.PI * ((t * 4) % 1)) ** 2;
    out[i] = Math.round(3000 * syllable * (Math.sin(2 * Math.PI * 150 * t) + hiss[i]));
  }
  return out;
}

/**
 * Runs `calls` synthetic calls for `seconds` (half of them 16 kHz pcm16, half 8 kHz μ-law): each plays an
 * interruptible prompt while its inbound audio carries the prompt's echo (12 dB down, 50 ms late) and, from the
 * middle on, a near-end voice-like signal, so the echo path, the VAD's speech frames, a pause and a commit all run.
 * Resolves when they have ended.
 */
export async function warmUpCalls(
  svc: { config: Config; listen: ListenService; pacer: Pacer; log: Logger },
  calls: number,
  seconds: number,
): Promise<CallWarmUpResult> {
  const t0 = performance.now();
  let promptFrames = 0;
  let inboundFrames = 0;
  const quiet = svc.log.child({ mod: 'warm-up' }, { level: 'warn' });
  const sink: CallSink = {
    sendAudio: () => {
      promptFrames++;
      return true;
    },
    sendEvent: () => undefined,
    close: () => undefined,
  };
  const running = Array.from({ length: calls }, (_, i) => {
    const wide = i % 2 === 0;
    const rate = wide ? 16000 : 8000;
    const encoding: Encoding = wide ? 'pcm16' : 'mulaw';
    const call = new Call(
      { callId: `warm-up-${i}`, wire: 'warm-up', format: { encoding, sampleRate: rate }, language: 'zh', callType: 'notification' },
      { config: svc.config, listen: svc.listen, pacer: svc.pacer, log: quiet, ended: () => undefined },
      sink,
    );
    const prompt = promptPcm(rate, seconds, 7 + i);
    call.play({ promptId: `warm-up-${i}`, pcm: prompt, interruptible: true });
    const near = promptPcm(rate, seconds, 1000 + i);
    const perFrame = (rate * FRAME_MS) / 1000;
    const delay = Math.round(rate * 0.05);
    return { call, prompt, near, perFrame, delay, at: 0 };
  });
  const frames = Math.floor((seconds * 1000) / FRAME_MS);
  const inbound = new Int16Array((16000 * FRAME_MS) / 1000);
  for (let f = 0; f < frames; f++) {
    for (const c of running) {
      const x = inbound.subarray(0, c.perFrame);
      for (let k = 0; k < c.perFrame; k++) {
        const i = c.at + k;
        const echo = i >= c.delay ? c.prompt[i - c.delay] * 0.25 : 0;
        const voice = f >= frames / 2 ? c.near[i] : 0;
        x[k] = Math.max(-32768, Math.min(32767, Math.round(echo + voice)));
      }
      c.at += c.perFrame;
      c.call.audio(encode(c.call.format.encoding, x));
      inboundFrames++;
    }
    // At real time: the inbound budget ends a call that sends faster, and the playout runs on the wall clock.
    await new Promise((r) => setTimeout(r, Math.max(0, t0 + (f + 1) * FRAME_MS - performance.now())));
  }
  await Promise.all(running.map((c) => c.call.end('warm_up')));
  return { calls, inboundFrames, promptFrames, ms: Math.round(performance.now() - t0) };
}

/** What V8 compiled stays compiled for the process: one warm-up per process, as the listen workers' (warmUpOnce). */
const PROCESS = {};
const runs = new WeakMap<object, Promise<CallWarmUpResult>>();

/** The warm-up run by the first gateway of the process, awaited by any other; `ran` is false for those. */
export function warmUpCallsOnce(
  svc: Parameters<typeof warmUpCalls>[0],
  calls: number,
  seconds: number,
): Promise<SharedRun<CallWarmUpResult>> {
  return sharedRun(runs, PROCESS, () => warmUpCalls(svc, calls, seconds));
}
