// What the live monitor shows: one row per call (live, and the last finished ones), folded from the call's own
// events, and a bounded tail of each call's events for its timeline. Events are rare (a handful a second per call),
// so keeping this always current costs nothing on the audio path; nothing is serialised unless someone watches.
import type { CallEvent } from '../call/events.js';

/** Events kept per call for a timeline opened mid-call. */
export const TIMELINE_EVENTS = 200;
/** Finished calls kept, newest first. */
export const FINISHED_CALLS = 50;

export interface CallRow {
  callId: string;
  wire: string;
  /** The callee with the middle digits hidden: the page is for watching, not for reading numbers off. */
  callee: string | null;
  callType: string;
  startedAt: string;
  live: boolean;
  state: 'idle' | 'playing' | 'paused' | 'ended';
  prompt: string | null;
  /** Inbound-audio ms since the call started, as of its last event. */
  t: number;
  pauses: number;
  resumes: number;
  bargeIns: number;
  /** Speech onset → prompt paused, of the last pause (inbound-audio ms). */
  pauseMs: number | null;
  /** Speech onset → barge-in committed, of the last barge-in. */
  bargeInMs: number | null;
  /** End of the answer → consent decision, of the last decision. */
  consentMs: number | null;
  consent: { decision: string; evidenceId: string | null; complaint: boolean } | null;
  endReason: string | null;
}

export interface CallStart {
  callId: string;
  wire: string;
  callee?: string;
  callType: string;
  startedAt: number;
}

export function maskCallee(callee: string | undefined): string | null {
  if (!callee) return null;
  if (callee.length <= 6) return '•'.repeat(callee.length);
  const head = callee.startsWith('+') ? callee.slice(0, 3) : callee.slice(0, 2);
  return `${head}${'•'.repeat(callee.length - head.length - 4)}${callee.slice(-4)}`;
}

/** Event types that change what a row shows (state, prompt, latencies, decision, end); speech and transcripts do not. */
const ROW_EVENTS = new Set<CallEvent['type']>(['prompt_started', 'prompt_paused', 'prompt_resumed', 'prompt_finished', 'barge_in', 'consent', 'call_summary']);
export const changesRow = (ev: CallEvent): boolean => ROW_EVENTS.has(ev.type);

/** What a timeline keeps: every event but partial transcripts (a few a second while someone speaks, each superseded). */
export const onTimeline = (ev: CallEvent): boolean => ev.type !== 'transcript' || ev.final;

interface Entry {
  row: CallRow;
  events: CallEvent[];
  /** Onset of the speech that may pause the prompt now. */
  onsetT: number | null;
}

export class CallBoard {
  private readonly live = new Map<string, Entry>();
  private finished: Entry[] = [];

  started(s: CallStart): CallRow {
    const row: CallRow = {
      callId: s.callId,
      wire: s.wire,
      callee: maskCallee(s.callee),
      callType: s.callType,
      startedAt: new Date(s.startedAt).toISOString(),
      live: true,
      state: 'idle',
      prompt: null,
      t: 0,
      pauses: 0,
      resumes: 0,
      bargeIns: 0,
      pauseMs: null,
      bargeInMs: null,
      consentMs: null,
      consent: null,
      endReason: null,
    };
    this.live.set(s.callId, { row, events: [], onsetT: null });
    return row;
  }

  /** Folds one event into its call's row; returns the row, or null for a call the board does not know. */
  event(callId: string, ev: CallEvent): CallRow | null {
    const e = this.live.get(callId);
    if (!e) return null;
    const r = e.row;
    r.t = ev.t;
    if (onTimeline(ev)) {
      e.events.push(ev);
      if (e.events.length > TIMELINE_EVENTS) e.events.shift();
    }
    switch (ev.type) {
      case 'prompt_started':
        r.state = 'playing';
        r.prompt = ev.promptId;
        break;
      case 'speech_started':
        e.onsetT = ev.onsetT;
        break;
      case 'prompt_paused':
        r.state = 'paused';
        r.pauses++;
        if (e.onsetT !== null) r.pauseMs = Math.max(0, ev.t - e.onsetT);
        break;
      case 'prompt_resumed':
        r.state = 'playing';
        r.resumes++;
        break;
      case 'barge_in':
        r.bargeIns++;
        r.bargeInMs = Math.max(0, ev.t - ev.onsetT);
        break;
      case 'prompt_finished':
        if (r.prompt === ev.promptId) {
          r.state = 'idle';
          r.prompt = null;
        }
        break;
      case 'consent':
        r.consent = { decision: ev.decision, evidenceId: ev.evidenceId, complaint: ev.complaint };
        if (ev.speechEndT !== null) r.consentMs = Math.max(0, ev.t - ev.speechEndT);
        break;
      case 'call_summary':
        r.live = false;
        r.state = 'ended';
        r.prompt = null;
        r.endReason = ev.reason;
        this.live.delete(callId);
        this.finished.unshift(e);
        if (this.finished.length > FINISHED_CALLS) this.finished.pop();
        break;
    }
    return r;
  }

  /** Live calls in start order, then the finished ones, newest first. */
  rows(): CallRow[] {
    return [...[...this.live.values()].map((e) => e.row), ...this.finished.map((e) => e.row)];
  }

  timeline(callId: string): CallEvent[] | null {
    const e = this.live.get(callId) ?? this.finished.find((f) => f.row.callId === callId);
    return e ? e.events : null;
  }
}
