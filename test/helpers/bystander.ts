// A normal call beside an attack: the labelled barge-in scenario s01 (clean speech from 1.2 s into the prompt),
// streamed at real time on the native wire while something hostile happens elsewhere. The hardening tests assert
// it still pauses and barges in within the bench's budgets, and that /healthz answers, whatever the attack did.
import { expect } from 'vitest';
import budgets from '../../bench/budgets.json' with { type: 'json' };
import { TestCall, b64 } from './client.js';
import { labels, wireAudio } from './corpus.js';

const SCENARIO = 'bargein/s01_caller.wav';
/** Speech heard after the labelled onset before the caller stops: enough for the 320 ms commit and its margin. */
const SPEECH_AFTER_ONSET_MS = 900;

export interface BargeInOutcome {
  /** Inbound ms from the labelled onset to the pause and to the barge-in. */
  pauseMs: number | null;
  bargeInMs: number | null;
  /** Wall ms from sending the audio of the onset to receiving the pause and the barge-in. */
  pauseWallMs: number | null;
  bargeInWallMs: number | null;
  errors: string[];
  summaryReason: string | null;
}

let cached: { onsetMs: number; caller: Int16Array; prompt: Int16Array } | null = null;
function scenario(): { onsetMs: number; caller: Int16Array; prompt: Int16Array } {
  if (cached) return cached;
  const l = labels().find((x) => x.file === SCENARIO)!;
  const onsetMs = l.speechOnsetMs!;
  const caller = wireAudio(SCENARIO).samples.subarray(0, ((onsetMs + SPEECH_AFTER_ONSET_MS) * 16000) / 1000);
  return (cached = { onsetMs, caller, prompt: wireAudio(l.promptFile!).samples });
}

/** One normal barge-in call on the native wire at `url` (a ws:// URL carrying any token it needs). */
export async function normalBargeInCall(url: string, callId: string, headers: Record<string, string> = {}): Promise<BargeInOutcome> {
  const s = scenario();
  const c = new TestCall(url, headers);
  const ready = await c.start({ callId, encoding: 'pcm16', sampleRate: 16000 });
  if (ready.type !== 'ready') throw new Error(`normal call ${callId} was not admitted: ${JSON.stringify(ready)}`);
  c.send({ type: 'play', promptId: 'p', audio: b64('pcm16', s.prompt), interruptible: true });
  await c.firstFrame();
  let onsetSentAt = 0;
  await c.stream(s.caller, 'pcm16', 16000, 1, (ms) => {
    if (!onsetSentAt && ms + 20 > s.onsetMs) onsetSentAt = performance.now();
  });
  await c.waitFor('barge_in', 2000).catch(() => undefined);
  const summary = await c.hangup().catch(() => null);
  const pause = c.events('prompt_paused')[0];
  const barge = c.events('barge_in')[0];
  return {
    pauseMs: pause ? pause.t - s.onsetMs : null,
    bargeInMs: barge ? barge.t - s.onsetMs : null,
    pauseWallMs: pause ? pause.at - onsetSentAt : null,
    bargeInWallMs: barge ? barge.at - onsetSentAt : null,
    errors: c.events('error').map((e) => String(e.code)),
    summaryReason: summary ? String(summary.reason) : null,
  };
}

/**
 * The call paused and barged in within the bench's budgets on the inbound-audio clock, with no error of its own, and
 * on the wall clock within twice them. What an attack does to a gateway it hurts is a stall of seconds; a few ms over
 * a wall budget on one call measures the test machine too (speed is the bench's and the soak's, not a test's).
 */
export function expectWithinBudget(o: BargeInOutcome): void {
  expect(o.errors, 'errors on the normal call').toEqual([]);
  expect(o.pauseMs, 'pause (inbound ms after onset)').not.toBeNull();
  expect(o.bargeInMs, 'barge-in (inbound ms after onset)').not.toBeNull();
  expect(o.pauseMs!).toBeGreaterThanOrEqual(-64);
  expect(o.pauseMs!).toBeLessThanOrEqual(budgets.pauseMs.p95);
  expect(o.bargeInMs!).toBeLessThanOrEqual(budgets.bargeInMs.p95);
  expect(o.pauseWallMs!).toBeLessThanOrEqual(2 * budgets.pauseWallMs.p95);
  expect(o.bargeInWallMs!).toBeLessThanOrEqual(2 * budgets.bargeInWallMs.p95);
  expect(o.summaryReason).toBe('hangup');
}

/**
 * Runs `attack` while a normal call streams beside it, then checks the normal call kept its budgets and the
 * gateway's /healthz answers. Returns what the attack returned.
 */
export async function besideNormalCall<T>(gw: { url: string; http: string; headers?: Record<string, string> }, callId: string, attack: () => Promise<T>): Promise<T> {
  const normal = normalBargeInCall(gw.url, callId, gw.headers);
  // The attack starts once the normal call is streaming, and overlaps its barge-in.
  await new Promise((r) => setTimeout(r, 300));
  const [outcome, result] = await Promise.all([normal, attack()]);
  expectWithinBudget(outcome);
  expect((await fetch(`${gw.http}/healthz`)).status).toBe(200);
  return result;
}
