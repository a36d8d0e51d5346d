// Runs one scenario as one call: start → ready → play (+ expect_consent) → caller audio at real-time pace →
// hangup. The caller file's t = 0 is the start of prompt playback AT THE FAR END, i.e. the moment the first
// prompt audio frame reaches this client: the runner sends `play`, waits for that frame, and starts the caller
// track from the frame's arrival (frame 0 leaves in the same handler). Starting the track when `play` is sent
// would put the echo in the caller file ahead of the audio it echoes by the gateway's first-audio latency.
import { performance } from 'node:perf_hooks';
import { encode } from '../gateway/audio/codec.js';
import type { Pacer, PacedStream } from './pacer.js';
import type { CallRecord, TimedEvent } from './record.js';
import { FRAME_MS, type Scenario, type WireAudio } from './scenarios.js';
import type { Wire, WireCall } from './wires/types.js';

/** Silence after a consent answer: the gateway needs trailing silence to end the utterance and decide. */
const CONSENT_TAIL_MS = 2500;
const SUMMARY_WAIT_MS = 2000;
/** No prompt audio this long after `play`: the call is counted as failed (its caller track cannot be aligned). */
export const FIRST_FRAME_TIMEOUT_MS = 5000;
/** Events worth keeping; transcripts can be many and are not needed for the metrics. */
const KEEP = new Set([
  'prompt_started', 'prompt_paused', 'prompt_resumed', 'prompt_finished', 'speech_started', 'speech_ended',
  'barge_in', 'consent', 'error', 'call_summary', 'bench_bad_json',
]);
/** Error codes meaning "this gateway cannot decide consent" (no recogniser / consent not wired yet). */
export const CONSENT_UNAVAILABLE = new Set(['consent_unavailable']);

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

/**
 * A distinct callee number per call, so the gateway's per-callee frequency caps never refuse a bench call while
 * its policy check (a database lookup + insert per start) stays on the measured path. Random base per process,
 * so repeated runs against one long-running gateway (--url) do not reuse numbers either.
 */
let calleeSeq = Math.floor(Math.random() * 1e8);
export function nextCallee(): string {
  calleeSeq = (calleeSeq + 1) % 1e8;
  return `+86139${String(calleeSeq).padStart(8, '0')}`;
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
    hasEcho: s.hasEcho, startedAt: performance.now(), ok: false, playSentAt: null, trackStartAt: null, frameSentAt: [],
    promptFrames: [], events: [], audioMsSent: 0,
  };
  let call: WireCall | null = null;
  let closed = false;
  let onSummary: (() => void) | null = null;
  let onConsent: (() => void) | null = null;
  /** Set while the runner waits for the first prompt frame; called with null (frame) or a reason. */
  let onFirstFrame: ((why: string | null) => void) | null = null;
  let framesLeft = 0;
  try {
    call = await p.wire.connect(p.url, {
      onEvent(ev, wall) {
        if (KEEP.has(ev.type)) rec.events.push({ ...ev, wall } as TimedEvent);
        if (ev.type === 'call_summary') onSummary?.();
        if (ev.type === 'consent') onConsent?.();
        if (ev.type === 'error') {
          const code = String(ev.code ?? '');
          if (CONSENT_UNAVAILABLE.has(code)) {
            // The gateway cannot decide consent: streaming the answer and its tail would measure nothing.
            rec.consentUnavailable = true;
            onConsent?.();
          } else onFirstFrame?.(`error ${code} before the first prompt frame`);
        }
      },
      onAudio(_frame, wall) {
        rec.promptFrames.push(wall);
        if (rec.promptFrames.length === 1) onFirstFrame?.(null);
      },
      onCallerLeft(n, wall) {
        const left = (rec.frameLeftAt ??= []);
        for (let i = 0; i < n; i++) left[framesLeft++] = wall;
      },
      onClose() {
        closed = true;
        onSummary?.();
        onFirstFrame?.('connection closed before the first prompt frame');
      },
    }, p.token);
    await call.start({
      callId: p.callId,
      language: s.lang,
      callType: s.kind === 'consent' ? 'marketing' : 'notification',
      audio: p.audio,
      callee: nextCallee(),
    });
    const c = call;
    const frames = s.kind === 'consent'
      ? [...s.callerFrames, ...Array<Uint8Array>(Math.ceil(CONSENT_TAIL_MS / FRAME_MS)).fill(silenceFrame(p.audio))]
      : s.callerFrames;
    const playing = p.sendPrompts && !!s.prompt;
    let failure: string | null = null;
    let timer: NodeJS.Timeout | undefined;
    await new Promise<void>((resolve) => {
      const stream: PacedStream = {
        startAt: 0,
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
      const startTrack = () => {
        p.pacer.startNow(stream);
        rec.trackStartAt = stream.startAt;
      };
      // A consent answer (or "consent unavailable") ends the wait early: the remaining tail adds nothing.
      onConsent = () => {
        p.pacer.remove(stream);
        resolve();
      };
      const expect = () => {
        if (p.sendPrompts && s.kind === 'consent') c.expectConsent(s.prompt?.id ?? `consent-${s.id}`);
      };
      if (!playing) {
        expect();
        return startTrack();
      }
      // The caller track starts when the first prompt frame arrives (in that handler, so at its arrival time).
      timer = setTimeout(() => onFirstFrame?.(`no prompt audio within ${FIRST_FRAME_TIMEOUT_MS} ms of play`), FIRST_FRAME_TIMEOUT_MS);
      onFirstFrame = (why) => {
        onFirstFrame = null;
        clearTimeout(timer);
        if (why === null) return startTrack();
        failure = why;
        resolve();
      };
      rec.playSentAt = performance.now();
      c.play(s.prompt!.id, s.prompt!.base64, true);
      expect();
    });
    clearTimeout(timer);
    onConsent = null;
    onFirstFrame = null;
    const closedEarly = closed;
    if (!closed) {
      const summary = new Promise<void>((r) => {
        onSummary = r;
        setTimeout(r, SUMMARY_WAIT_MS);
      });
      c.hangup();
      await summary;
    }
    rec.ok = !closedEarly && failure === null;
    if (failure !== null) rec.error = failure;
    else if (closedEarly) rec.error = 'connection closed before hangup';
  } catch (e) {
    rec.error = (e as Error).message;
  } finally {
    call?.close();
  }
  return rec;
}
