// Runs one scenario as one call: start → ready → play (+ expect_consent) → caller audio at real-time pace →
// hangup. Barge-in scenarios send `play` and start the caller track in the same tick, because the caller file's
// t = 0 is the start of prompt playback.
import { performance } from 'node:perf_hooks';
import { encode } from '../gateway/audio/codec.js';
import type { Pacer } from './pacer.js';
import type { CallRecord, TimedEvent } from './record.js';
import { FRAME_MS, type Scenario, type WireAudio } from './scenarios.js';
import type { Wire, WireCall } from './wires/types.js';

/** Silence after a consent answer: the gateway needs trailing silence to end the utterance and decide. */
const CONSENT_TAIL_MS = 2500;
const SUMMARY_WAIT_MS = 2000;
/** Events worth keeping; transcripts can be many and are not needed for the metrics. */
const KEEP = new Set([
  'prompt_started', 'prompt_paused', 'prompt_resumed', 'prompt_finished', 'speech_started', 'speech_ended',
  'barge_in', 'consent', 'error', 'call_summary', 'bench_bad_json',
]);

export interface RunCallParams {
  wire: Wire;
  url: string;
  token: string | null;
  scenario: Scenario;
  audio: WireAudio;
  pacer: Pacer;
  callId: string;
  /** When false (peer systems without playout), `play` / `expect_consent` are not sent. */
  sendPrompts: boolean;
}

const silenceCache = new Map<string, Uint8Array>();
function silenceFrame(audio: WireAudio): Uint8Array {
  const key = `${audio.encoding}/${audio.sampleRate}`;
  let f = silenceCache.get(key);
  if (!f) silenceCache.set(key, (f = encode(audio.encoding, new Int16Array((audio.sampleRate * FRAME_MS) / 1000))));
  return f;
}

export async function runCall(p: RunCallParams): Promise<CallRecord> {
  const s = p.scenario;
  const rec: CallRecord = {
    scenarioId: s.id, kind: s.kind, labelKind: s.labelKind, expected: s.expected, onsetMs: s.onsetMs, endMs: s.endMs,
    hasEcho: s.hasEcho, startedAt: performance.now(), ok: false, playSentAt: null, frameSentAt: [], promptFrames: [],
    events: [], audioMsSent: 0,
  };
  let call: WireCall | null = null;
  let closed = false;
  let onSummary: (() => void) | null = null;
  let onConsent: (() => void) | null = null;
  try {
    call = await p.wire.connect(p.url, {
      onEvent(ev, wall) {
        if (KEEP.has(ev.type)) rec.events.push({ ...ev, wall } as TimedEvent);
        if (ev.type === 'call_summary') onSummary?.();
        if (ev.type === 'consent') onConsent?.();
      },
      onAudio(_frame, wall) {
        rec.promptFrames.push(wall);
      },
      onClose() {
        closed = true;
        onSummary?.();
      },
    }, p.token);
    await call.start({
      callId: p.callId,
      language: s.lang,
      callType: s.kind === 'consent' ? 'marketing' : 'notification',
      audio: p.audio,
      callee: '+8613800000000',
    });
    const c = call;
    const frames = s.kind === 'consent'
      ? [...s.callerFrames, ...Array<Uint8Array>(Math.ceil(CONSENT_TAIL_MS / FRAME_MS)).fill(silenceFrame(p.audio))]
      : s.callerFrames;
    await new Promise<void>((resolve) => {
      const stream = {
        startAt: performance.now(),
        frames,
        next: 0,
        send(frame: Uint8Array, index: number, wall: number) {
          if (closed) return;
          rec.frameSentAt[index] = wall;
          rec.audioMsSent += FRAME_MS;
          c.sendAudio(frame);
        },
        done: resolve,
      };
      if (p.sendPrompts && s.prompt) {
        rec.playSentAt = performance.now();
        c.play(s.prompt.id, s.prompt.base64, true);
      }
      if (p.sendPrompts && s.kind === 'consent') c.expectConsent(s.prompt?.id ?? `consent-${s.id}`);
      // A consent answer ends the wait early: the remaining tail silence adds nothing.
      onConsent = () => {
        p.pacer.remove(stream);
        resolve();
      };
      p.pacer.add(stream);
    });
    onConsent = null;
    const closedEarly = closed;
    if (!closed) {
      const summary = new Promise<void>((r) => {
        onSummary = r;
        setTimeout(r, SUMMARY_WAIT_MS);
      });
      c.hangup();
      await summary;
    }
    rec.ok = !closedEarly;
    if (!rec.ok) rec.error = 'connection closed before hangup';
  } catch (e) {
    rec.error = (e as Error).message;
  } finally {
    call?.close();
  }
  return rec;
}
