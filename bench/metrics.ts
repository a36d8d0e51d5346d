// Per-call measurements against the labels, as pure functions of CallRecords. Audio-time latencies use the
// gateway's `t` (ms of inbound audio); wall latencies use arrival time minus the send time of the frame that
// holds the labelled instant, so they also catch a gateway that decides correctly but late.
import type { CallRecord, TimedEvent } from './record.js';
import { FRAME_MS } from './scenarios.js';
import { percentile, summarize, type Summary } from './stats.js';

/** An event this much before the labelled onset is still credited to the caller (label precision ±30 ms, plus
 * VAD look-back); earlier than that it fired on something else (echo, noise). */
export const EARLY_SLACK_MS = 250;
export const GAP_MS = 60;
/** A frame this late against the far-end buffer is still on time: the gateway's pacer ticks every 5 ms. */
export const UNDERRUN_SLACK_MS = 5;
export const LATE_AFTER_STOP_MS = 40;

export const LATENCY_METRICS = [
  'pauseMs', 'pauseWallMs', 'bargeInMs', 'bargeInWallMs', 'onsetMs', 'onsetEstMs', 'stopMs', 'consentMs', 'consentWallMs',
  'firstAudioMs', 'pauseArrivalMs', 'bargeInArrivalMs', 'consentArrivalMs', 'decisionDelayMs',
] as const;
export type LatencyMetric = (typeof LATENCY_METRICS)[number];

export interface Counters {
  scenarios: number;
  failedCalls: number;
  errorEvents: number;
  bargeInScenarios: number;
  onsetScenarios: number; // barge-in scenarios without echo: the denominator of onsetMs
  missedBargeIns: number;
  earlyBargeIns: number;
  missedPauses: number; // barge-in scenarios with no prompt_paused at or after onset − 250 ms
  earlyPauses: number; // barge-in scenarios paused before onset − 250 ms (on echo/noise)
  noBargeInScenarios: number;
  falseBargeIns: number;
  falsePauses: number;
  consentScenarios: number;
  consentCorrect: number;
  consentMissing: number;
  consentUnavailable: number; // the gateway answered expect_consent with error consent_unavailable
  falseGranted: number;
  promptFrames: number;
  underrunFrames: number; // prompt frames that reached the far end after its playout buffer had run dry
  lateFrames: number; // prompt frames arriving > 40 ms after barge_in
}

export interface CallMetrics {
  samples: Record<LatencyMetric, number[]>;
  counters: Counters;
  consentConfusion: Record<string, Record<string, number>>; // expected → decided → count
  errors: Record<string, number>;
  /** Each false / early / missed barge-in with what the gateway said about the call's echo path (first 50). */
  incidents: Incident[];
}

export interface Incident {
  scenarioId: string;
  what: 'false_barge_in' | 'early_barge_in' | 'missed_barge_in' | 'missed_pause';
  t: number | null; // the event's t (inbound-audio ms)
  echoLocked: boolean | null;
  echoDelayMs: number | null;
  firstAudioMs: number | null;
}
const MAX_INCIDENTS = 50;

function incident(m: CallMetrics, rec: CallRecord, what: Incident['what'], t: number | null): void {
  if (m.incidents.length >= MAX_INCIDENTS) return;
  const sum = rec.events.find((e) => e.type === 'call_summary') as { echo?: { locked?: boolean; delayMs?: number | null } } | undefined;
  m.incidents.push({
    scenarioId: rec.scenarioId, what, t,
    echoLocked: sum?.echo?.locked ?? null, echoDelayMs: sum?.echo?.delayMs ?? null,
    firstAudioMs: rec.playSentAt !== null && rec.promptFrames.length ? Math.round(rec.promptFrames[0] - rec.playSentAt) : null,
  });
}

/** Events decided on the VAD's frames (and only on them, with content decisions off): their `t` ends a 32 ms frame. */
const FRAME_DECISIONS = new Set(['speech_started', 'speech_ended', 'prompt_paused', 'prompt_resumed', 'barge_in']);

/**
 * Every frame decision of a call (`decisionDelayMs` is wall − sent): when the packet that completed its frame left
 * (where the far end chunks the caller, when its chunk did) and when the event arrived — the gateway's own path and
 * the client's receive, whatever the scenario's audio-time latency. A pause budget fails only when this runs long on
 * a scenario whose audio time leaves little slack (s23: 128 of 150 ms), which a ten-minute soak meets a few hundred
 * times; this samples the same path on every call.
 */
export function frameDecisions(rec: CallRecord): { type: string; sent: number; wall: number }[] {
  const out: { type: string; sent: number; wall: number }[] = [];
  for (const e of rec.events) {
    if (!FRAME_DECISIONS.has(e.type) || typeof e.t !== 'number' || e.t <= 0) continue;
    const sent = arrivalOfAudioMs(rec, e.t - 1);
    if (sent !== undefined) out.push({ type: e.type, sent, wall: e.wall });
  }
  return out;
}

/**
 * The tail of the gateway's decision path over every frame decision (`decisionDelayMs`): how often it ran past the
 * slack of the tightest scenario. Late calls are a few a run at most; this counts the same path thousands of times,
 * so two runs can be compared on it. Nearest-rank percentiles, as every other summary here (stats.ts).
 */
export function decisionTail(delays: readonly number[]): { n: number; p50: number | null; p99: number | null; p999: number | null; max: number | null; over20: number; over30: number } {
  const v = [...delays].sort((a, b) => a - b);
  const q = (p: number) => {
    const x = percentile(v, p);
    return x === null ? null : Math.round(x * 10) / 10;
  };
  return { n: v.length, p50: q(50), p99: q(99), p999: q(99.9), max: q(100), over20: v.filter((x) => x > 20).length, over30: v.filter((x) => x > 30).length };
}

const first = (evs: TimedEvent[], type: string, minT = -Infinity): TimedEvent | undefined =>
  evs.find((e) => e.type === type && typeof e.t === 'number' && e.t >= minT);

function wallOfAudioMs(rec: CallRecord, ms: number): number | undefined {
  return rec.frameSentAt[Math.floor(ms / FRAME_MS)];
}

/** When the audio at `ms` reached the gateway: its frame's send, or the chunk's where the far end chunks the caller. */
function arrivalOfAudioMs(rec: CallRecord, ms: number): number | undefined {
  const i = Math.floor(ms / FRAME_MS);
  return rec.frameLeftAt ? rec.frameLeftAt[i] : rec.frameSentAt[i];
}

export function emptyMetrics(): CallMetrics {
  const samples = Object.fromEntries(LATENCY_METRICS.map((m) => [m, [] as number[]])) as Record<LatencyMetric, number[]>;
  return {
    samples,
    counters: {
      scenarios: 0, failedCalls: 0, errorEvents: 0, bargeInScenarios: 0, onsetScenarios: 0, missedBargeIns: 0, earlyBargeIns: 0,
      missedPauses: 0, earlyPauses: 0, noBargeInScenarios: 0, falseBargeIns: 0, falsePauses: 0, consentScenarios: 0, consentCorrect: 0,
      consentMissing: 0, consentUnavailable: 0, falseGranted: 0, promptFrames: 0, underrunFrames: 0, lateFrames: 0,
    },
    consentConfusion: {},
    errors: {},
    incidents: [],
  };
}

/** Adds one call's measurements into `m`. */
export function accumulate(m: CallMetrics, rec: CallRecord): void {
  const c = m.counters;
  const S = m.samples;
  c.scenarios++;
  if (!rec.ok) {
    c.failedCalls++;
    const key = (rec.error ?? 'failed').replace(/[0-9]+/g, 'N').slice(0, 80);
    m.errors[key] = (m.errors[key] ?? 0) + 1;
    return;
  }
  const evs = rec.events;
  for (const d of frameDecisions(rec)) S.decisionDelayMs.push(d.wall - d.sent);
  for (const e of evs.filter((x) => x.type === 'error')) {
    const key = `error event: ${String(e.code ?? '?')}`;
    m.errors[key] = (m.errors[key] ?? 0) + 1;
    // "consent unavailable" is a capability answer of a gateway without a recogniser, not a fault.
    if (e.code !== 'consent_unavailable') c.errorEvents++;
  }
  if (rec.playSentAt !== null && rec.promptFrames.length > 0) S.firstAudioMs.push(rec.promptFrames[0] - rec.playSentAt);
  c.promptFrames += rec.promptFrames.length;

  // What the callee hears: a far-end buffer that plays each frame's 20 ms after the audio before it. A frame that
  // arrives after that buffer ran dry is an audible gap; early or grouped frames and jitter it absorbs are not. A
  // pause, resume, stop or barge-in restarts the buffer: silence there is intended.
  const controlWalls = evs.filter((e) => /^prompt_(paused|resumed|finished)$|^barge_in$/.test(e.type)).map((e) => e.wall);
  let playEnd = 0;
  for (let i = 0; i < rec.promptFrames.length; i++) {
    const w = rec.promptFrames[i];
    const restart = i === 0 || controlWalls.some((x) => x >= rec.promptFrames[i - 1] - GAP_MS && x <= w);
    if (!restart && w > playEnd + UNDERRUN_SLACK_MS) c.underrunFrames++;
    playEnd = (restart ? w : Math.max(playEnd, w)) + FRAME_MS;
  }

  if (rec.kind === 'bargein' && rec.expected === 'barge_in' && rec.onsetMs !== null) {
    c.bargeInScenarios++;
    const onset = rec.onsetMs;
    const onsetWall = wallOfAudioMs(rec, onset);
    const minT = onset - EARLY_SLACK_MS;
    const pause = first(evs, 'prompt_paused', minT);
    const barge = evs.find((e) => e.type === 'barge_in');
    const started = first(evs, 'speech_started', minT);
    const onsetArrival = arrivalOfAudioMs(rec, onset);
    if (pause) {
      S.pauseMs.push(pause.t! - onset);
      if (onsetWall !== undefined) S.pauseWallMs.push(pause.wall - onsetWall);
      if (onsetArrival !== undefined) S.pauseArrivalMs.push(pause.wall - onsetArrival);
    } else {
      c.missedPauses++;
      incident(m, rec, 'missed_pause', null);
    }
    if (evs.some((e) => e.type === 'prompt_paused' && typeof e.t === 'number' && e.t < minT)) c.earlyPauses++;
    if (!barge) {
      c.missedBargeIns++;
      incident(m, rec, 'missed_barge_in', null);
    } else if ((barge.t ?? 0) < minT) {
      c.earlyBargeIns++;
      incident(m, rec, 'early_barge_in', barge.t ?? null);
    } else {
      S.bargeInMs.push(barge.t! - onset);
      if (onsetWall !== undefined) S.bargeInWallMs.push(barge.wall - onsetWall);
      if (onsetArrival !== undefined) S.bargeInArrivalMs.push(barge.wall - onsetArrival);
    }
    // Onset detection is compared with peers only where no echo precedes the caller: a plain VAD fires on echo.
    if (!rec.hasEcho) c.onsetScenarios++;
    // `t` is when the detector fired (the peer's `timestamp` is that too); `onsetT` is where it placed the onset.
    if (started && !rec.hasEcho) S.onsetMs.push(started.t! - onset);
    if (started && !rec.hasEcho && typeof started.onsetT === 'number') S.onsetEstMs.push(started.onsetT - onset);
    // Stop: from the first stop event to the last prompt frame before the prompt resumed (if it did).
    const stopEv = [pause, barge && (barge.t ?? 0) >= minT ? barge : undefined]
      .filter((e): e is TimedEvent => !!e)
      .sort((a, b) => a.wall - b.wall)[0];
    if (stopEv) {
      const resumed = evs.find((e) => e.type === 'prompt_resumed' && e.wall > stopEv.wall);
      const until = resumed ? resumed.wall : Infinity;
      const before = rec.promptFrames.filter((w) => w < until);
      const last = before.length ? before[before.length - 1] : stopEv.wall;
      S.stopMs.push(Math.max(0, last - stopEv.wall));
    }
    if (barge) c.lateFrames += rec.promptFrames.filter((w) => w > barge.wall + LATE_AFTER_STOP_MS).length;
  } else if (rec.kind === 'bargein') {
    c.noBargeInScenarios++;
    const fb = evs.find((e) => e.type === 'barge_in');
    if (fb) {
      c.falseBargeIns++;
      incident(m, rec, 'false_barge_in', fb.t ?? null);
    }
    if (evs.some((e) => e.type === 'prompt_paused')) c.falsePauses++;
  } else if (rec.kind === 'consent') {
    c.consentScenarios++;
    if (rec.consentUnavailable || evs.some((e) => e.type === 'error' && e.code === 'consent_unavailable')) {
      c.consentUnavailable++;
      return;
    }
    const ev = evs.find((e) => e.type === 'consent');
    const expected = rec.expected ?? 'unknown';
    const decided = ev ? String(ev.decision) : 'none';
    m.consentConfusion[expected] ??= {};
    m.consentConfusion[expected][decided] = (m.consentConfusion[expected][decided] ?? 0) + 1;
    if (!ev) c.consentMissing++;
    else {
      if (decided === expected) c.consentCorrect++;
      if (decided === 'granted' && expected !== 'granted') c.falseGranted++;
      if (rec.endMs !== null && typeof ev.t === 'number') {
        S.consentMs.push(ev.t - rec.endMs);
        const endWall = wallOfAudioMs(rec, rec.endMs);
        if (endWall !== undefined) S.consentWallMs.push(ev.wall - endWall);
        const endArrival = arrivalOfAudioMs(rec, rec.endMs);
        if (endArrival !== undefined) S.consentArrivalMs.push(ev.wall - endArrival);
      }
    }
  }
}

export function computeMetrics(records: readonly CallRecord[]): CallMetrics {
  const m = emptyMetrics();
  for (const r of records) accumulate(m, r);
  return m;
}

export function summaries(m: CallMetrics): Record<LatencyMetric, Summary> {
  return Object.fromEntries(LATENCY_METRICS.map((k) => [k, summarize(m.samples[k])])) as Record<LatencyMetric, Summary>;
}
