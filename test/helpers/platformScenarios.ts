// The 30 dev barge-in scenarios at 8 kHz through a telephony wire's far-end fake (bench/wires/<platform>): each
// call is opened the platform's way, its prompt played through the control API, the caller track streamed at real
// time in the platform's own format from the first prompt audio the far end received, and the outcomes judged by the
// same rules as the native wire's (test/bargein.e2e.test.ts at 8k), plus the platform's clear command within 20 ms
// of the commit (the gateway's own barge_in, timed where it is emitted).
import { expect, it } from 'vitest';
import { encode } from '../../gateway/audio/codec.js';
import type { Gateway } from '../../gateway/Gateway.js';
import type { Wire } from '../../bench/wires/types.js';
import { labels, wireAudio, type Label } from './corpus.js';
import { drive, params, serverEvents } from './platformCalls.js';
import { until } from './until.js';

export interface ScenarioOutcome {
  label: Label;
  pauseT: number | null;
  commitT: number | null;
  pauseTs: number[];
  /** The platform's clear command after the commit, ms after the gateway emitted barge_in; null without either. */
  clearAfterCommitMs: number | null;
}

/** The dev set as the native e2e has it. */
export const DEV_KIND_COUNTS = { barge_in: 18, echo_only: 5, backchannel: 4, cough: 2, click: 1 };
const EARLY_SLACK_MS = 100;

export function devScenarios(): Label[] {
  return labels().filter((l) => l.file.startsWith('bargein/s'));
}

async function one(wire: Wire, gw: Gateway, base: string, token: string | null, label: Label, n: number): Promise<ScenarioOutcome> {
  const delayMs = n * 15;
  await new Promise((r) => setTimeout(r, delayMs));
  const caller = wireAudio(label.twin8k);
  const prompt = wireAudio(label.promptTwin8k!);
  const callId = `${wire.name}-${label.file.replace(/\W/g, '_')}`;
  // A callee per call: the policy's per-callee frequency cap would refuse the second call to one number.
  const p = params(callId, { callee: `+86137${String(Date.now() % 1e6).padStart(6, '0')}${String(n).padStart(2, '0')}` });
  const server = serverEvents(gw, callId);
  const d = await drive(wire, base, token, p);
  d.call.play('p', Buffer.from(encode('mulaw', prompt.samples)).toString('base64'), true);
  // t = 0 of the caller track is the start of prompt playback at the far end: its first prompt audio.
  await until(() => d.frames.length > 0, 5000, `${callId} first prompt audio`);
  const t0 = performance.now();
  for (let i = 0, k = 0; i < caller.samples.length; i += 160, k++) {
    d.call.sendAudio(encode('mulaw', caller.samples.subarray(i, i + 160)));
    const wait = t0 + (k + 1) * 20 - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
  }
  await new Promise((r) => setTimeout(r, 300));
  d.call.hangup();
  await until(() => d.closes.length > 0, 5000, `${callId} closed`);
  d.call.close();
  const of = (type: string) => d.events.filter((e) => e.type === type);
  const commit = server.find((e) => e.type === 'barge_in');
  const clear = commit ? d.events.find((e) => e.type === 'far_end_clear' && e.wall >= commit.wall - 1) : undefined;
  return {
    label,
    pauseT: (of('prompt_paused')[0]?.t as number | undefined) ?? null,
    commitT: (of('barge_in')[0]?.t as number | undefined) ?? null,
    pauseTs: of('prompt_paused').map((e) => e.t as number),
    clearAfterCommitMs: commit && clear ? clear.wall - commit.wall : null,
  };
}

/** Every dev scenario (or those given) through `wire`, concurrently (calls 15 ms apart, as on a trunk). */
export function runDevScenarios(wire: Wire, gw: Gateway, base: string, token: string | null, scenarios = devScenarios()): Promise<ScenarioOutcome[]> {
  return Promise.all(scenarios.map((l, i) => one(wire, gw, base, token, l, i)));
}

/**
 * What differs from the native wire's outcomes on the same scenarios (its e2e's rules at 8 kHz), as readable lines;
 * empty when the wire gives the same outcomes.
 */
export function differencesFromNative(out: ScenarioOutcome[], inboundChunkMs = 20): string[] {
  const problems: string[] = [];
  // A platform that sends the caller in chunks longer than the native wire's 20 ms frames (Exotel: 100 ms) delivers
  // a decision's audio that much later; the bounds widen by exactly that, nothing more.
  const late = Math.max(0, inboundChunkMs - 20);
  const counts: Record<string, number> = {};
  for (const o of out) counts[o.label.kind] = (counts[o.label.kind] ?? 0) + 1;
  if (JSON.stringify(counts) !== JSON.stringify(DEV_KIND_COUNTS)) problems.push(`kinds ${JSON.stringify(counts)}`);
  const speech = out.filter((o) => o.label.expected === 'barge_in');
  for (const o of speech) if (o.commitT === null) problems.push(`${o.label.file}: no barge_in`);
  const within = (xs: number[], ms: number) => xs.filter((x) => x <= ms).length / xs.length;
  const pause = speech.map((o) => (o.pauseT ?? Infinity) - o.label.speechOnsetMs!);
  const commit = speech.map((o) => (o.commitT ?? Infinity) - o.label.speechOnsetMs!);
  if (within(pause, 150 + late) < 0.95) problems.push(`pause within ${150 + late} ms for ${Math.round(within(pause, 150 + late) * 100)} % (${pause.join(',')})`);
  if (within(commit, 500 + late) < 0.95) problems.push(`commit within ${500 + late} ms for ${Math.round(within(commit, 500 + late) * 100)} % (${commit.join(',')})`);
  for (const o of out) if (o.label.expected === 'no_barge_in' && o.commitT !== null) problems.push(`${o.label.file} (${o.label.kind}): false barge-in at ${o.commitT}`);
  const echoPauses = out.filter((o) => ['echo_only', 'cough', 'click'].includes(o.label.kind) && o.pauseTs.length > 0);
  // The native e2e allows one of the eight today (s15 at 8 kHz in some runs).
  if (echoPauses.length > 1) problems.push(`pauses on echo/cough/click: ${echoPauses.map((o) => o.label.file).join(', ')}`);
  for (const o of speech) {
    const onset = o.label.speechOnsetMs!;
    if (o.pauseTs.some((t) => t < onset - EARLY_SLACK_MS) || (o.commitT !== null && o.commitT < onset - EARLY_SLACK_MS)) problems.push(`${o.label.file}: decided before the onset`);
    if (o.commitT !== null && (o.clearAfterCommitMs === null || o.clearAfterCommitMs > 20)) problems.push(`${o.label.file}: clear ${o.clearAfterCommitMs} ms after the commit`);
  }
  return problems;
}

export function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
}

/** Logs a wire's pause/commit latencies and slowest clear, and returns `differencesFromNative`. */
export function judgeAgainstNative(wire: string, out: ScenarioOutcome[], inboundChunkMs = 20): string[] {
  const speech = out.filter((o) => o.label.expected === 'barge_in');
  const lat = (k: 'pauseT' | 'commitT') => speech.map((o) => (o[k] ?? Infinity) - o.label.speechOnsetMs!);
  console.log(`${wire} 8k: pause p50/p95 ${pct(lat('pauseT'), 50)}/${pct(lat('pauseT'), 95)} ms, commit p50/p95 ${pct(lat('commitT'), 50)}/${pct(lat('commitT'), 95)} ms, clear after commit max ${Math.max(...speech.map((o) => o.clearAfterCommitMs ?? Infinity)).toFixed(1)} ms`);
  return differencesFromNative(out, inboundChunkMs);
}

/**
 * The test every platform wire's file has: the 30 dev scenarios through its far end give the native wire's outcomes,
 * the platform's `clear` command within 20 ms of each commit. `g` is read when the test runs (a useGateway object).
 */
export function itGivesNativeOutcomes(wire: Wire, g: { gw: Gateway; base: string }, token: string, clear: string, inboundChunkMs = 20): void {
  it(`gives the native wire's outcomes on the 30 dev barge-in scenarios at 8 kHz, ${clear} within 20 ms of each commit`, async () => {
    expect(judgeAgainstNative(wire.name, await runDevScenarios(wire, g.gw, g.base, token), inboundChunkMs)).toEqual([]);
  }, 120_000);
}
