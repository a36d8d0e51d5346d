// One barge-in scenario as one call over any bench wire: start → play the prompt (interruptible) → when its first
// frame arrives (t = 0 of the caller track, as in the bench and the e2e test) stream the caller track at real time
// → a short tail → hangup → call_summary. Records every event with its `t` and arrival time, and every prompt
// frame with its arrival time and length, so scoring (score.ts) is a pure function of the record.
import { join } from 'node:path';
import { encode } from '../../gateway/audio/codec.js';
import { readWav } from '../../gateway/audio/wav.js';
import { nextCallee } from '../callRunner.js';
import type { Pacer, PacedStream } from '../pacer.js';
import { toFrames, type WireAudio } from '../scenarios.js';
import type { GatewayEvent, Wire, WireCall } from '../wires/types.js';
import type { ScenarioLabel } from './labels.js';

const FIRST_FRAME_TIMEOUT_MS = 5000;
const TAIL_MS = 300;
const SUMMARY_WAIT_MS = 3000;
const KEEP = new Set(['prompt_started', 'prompt_paused', 'prompt_resumed', 'prompt_finished', 'speech_started', 'speech_ended', 'barge_in', 'error', 'call_summary']);

export interface CallEvent extends GatewayEvent {
  wall: number;
}

export interface BargeinRecord {
  ok: boolean;
  error?: string;
  /** Wall time of caller frame 0 (= the first prompt frame's arrival). */
  trackStartAt: number | null;
  events: CallEvent[];
  /** Prompt audio that arrived: arrival time and length in ms. */
  promptFrames: { wall: number; ms: number }[];
}

export interface ScenarioAudio {
  caller: Uint8Array[];
  promptBase64: string;
}

/** The wire frames of a scenario at the run's rate (16 kHz pcm16 files, or the 8 kHz μ-law twins). */
export function loadScenarioAudio(root: string, l: ScenarioLabel, audio: WireAudio): ScenarioAudio {
  const eight = audio.sampleRate === 8000;
  const read = (rel: string | undefined, what: string) => {
    if (!rel) throw new Error(`${l.file}: no ${what} for an 8 kHz run`);
    const c = readWav(join(root, rel));
    if (c.sampleRate !== audio.sampleRate) throw new Error(`${rel}: ${c.sampleRate} Hz, expected ${audio.sampleRate} Hz`);
    return c.samples;
  };
  const caller = read(eight ? l.twin8k : l.file, 'twin8k');
  const prompt = read(eight ? l.promptTwin8k : l.promptFile, 'promptTwin8k');
  return { caller: toFrames(caller, audio), promptBase64: Buffer.from(encode(audio.encoding, prompt)).toString('base64') };
}

export async function runScenarioCall(p: {
  wire: Wire;
  url: string;
  token: string | null;
  label: ScenarioLabel;
  audio: WireAudio;
  frames: ScenarioAudio;
  pacer: Pacer;
  callId: string;
}): Promise<BargeinRecord> {
  const rec: BargeinRecord = { ok: false, trackStartAt: null, events: [], promptFrames: [] };
  const bytesPerMs = (p.audio.sampleRate / 1000) * (p.audio.encoding === 'pcm16' ? 2 : 1);
  let call: WireCall | null = null;
  let closed = false;
  let onFirst: ((why: string | null) => void) | null = null;
  let onSummary: (() => void) | null = null;
  try {
    call = await p.wire.connect(p.url, {
      onEvent(ev, wall) {
        if (KEEP.has(ev.type)) rec.events.push({ ...ev, wall });
        if (ev.type === 'call_summary') onSummary?.();
        if (ev.type === 'error') onFirst?.(`error ${String(ev.code)} before the first prompt frame`);
      },
      onAudio(frame, wall) {
        rec.promptFrames.push({ wall, ms: frame.byteLength / bytesPerMs });
        if (rec.promptFrames.length === 1) onFirst?.(null);
      },
      onClose() {
        closed = true;
        onSummary?.();
        onFirst?.('connection closed before the first prompt frame');
      },
    }, p.token);
    const c = call;
    await c.start({ callId: p.callId, language: p.label.lang ?? p.label.promptLang ?? 'zh', callType: 'notification', audio: p.audio, callee: nextCallee() });
    let failure: string | null = null;
    await new Promise<void>((resolve) => {
      const stream: PacedStream = {
        startAt: 0,
        frames: p.frames.caller,
        next: 0,
        send: (frame) => {
          if (!closed) c.sendAudio(frame);
        },
        done: resolve,
      };
      const timer = setTimeout(() => onFirst?.(`no prompt audio within ${FIRST_FRAME_TIMEOUT_MS} ms of play`), FIRST_FRAME_TIMEOUT_MS);
      onFirst = (why) => {
        onFirst = null;
        clearTimeout(timer);
        if (why !== null) {
          failure = why;
          return resolve();
        }
        p.pacer.startNow(stream);
        rec.trackStartAt = stream.startAt;
      };
      c.play(`eval-${p.callId}`, p.frames.promptBase64, true);
    });
    if (failure) throw new Error(failure);
    await new Promise((r) => setTimeout(r, TAIL_MS));
    if (!closed) {
      await new Promise<void>((r) => {
        onSummary = r;
        setTimeout(r, SUMMARY_WAIT_MS);
        c.hangup();
      });
    }
    rec.ok = rec.events.some((e) => e.type === 'call_summary');
    if (!rec.ok) rec.error = closed ? 'connection closed before hangup' : 'no call_summary after hangup';
  } catch (e) {
    rec.error = (e as Error).message;
  } finally {
    call?.close();
  }
  return rec;
}

/** The call id the eval gives a scenario at a rate: its gateway log lines carry it (bench/bargein/looks.ts reads them). */
export const evalCallId = (l: ScenarioLabel, rate: '16k' | '8k') => `eval-${rate}-${String(l.id ?? l.file).replace(/\W+/g, '_')}`;
