// The monitor's call board: rows folded from a call's events, latencies as the page shows them, masking, bounds.
import { describe, expect, it } from 'vitest';
import type { CallEvent } from '../gateway/call/events.js';
import { CallBoard, changesRow, FINISHED_CALLS, maskCallee, onTimeline, TIMELINE_EVENTS } from '../gateway/monitor/CallBoard.js';

const start = (board: CallBoard, callId: string) => board.started({ callId, wire: 'native', callee: '+8613900139000', callType: 'marketing', startedAt: Date.UTC(2026, 11, 5) });
const summary = (reason: string, t: number) => ({ type: 'call_summary', reason, t }) as unknown as CallEvent;

describe('monitor call board', () => {
  it('hides the middle of the callee number, keeping the country code and the last four digits', () => {
    expect(maskCallee('+8613900139000')).toBe('+86•••••••9000');
    expect(maskCallee('13900139000')).toBe('13•••••9000');
    expect(maskCallee('12345')).toBe('•••••');
    expect(maskCallee(undefined)).toBeNull();
  });

  it('follows a prompt through pause, resume and barge-in, with latencies from the speech onset', () => {
    const b = new CallBoard();
    start(b, 'c1');
    const evs: CallEvent[] = [
      { type: 'prompt_started', promptId: 'greet', t: 100 },
      { type: 'speech_started', onsetT: 1000, t: 1100 },
      { type: 'prompt_paused', promptId: 'greet', playedMs: 900, t: 1064 },
      { type: 'prompt_resumed', promptId: 'greet', t: 1300 },
      { type: 'speech_started', onsetT: 2000, t: 2100 },
      { type: 'prompt_paused', promptId: 'greet', playedMs: 1800, t: 2096 },
    ];
    for (const e of evs) b.event('c1', e);
    expect(b.rows()[0]).toMatchObject({ state: 'paused', prompt: 'greet', pauses: 2, resumes: 1, pauseMs: 96, bargeIns: 0 });
    b.event('c1', { type: 'barge_in', promptId: 'greet', playedMs: 1800, onsetT: 2000, t: 2352 });
    b.event('c1', { type: 'prompt_finished', promptId: 'greet', interrupted: true, playedMs: 1800, reason: 'barge_in', t: 2352 });
    expect(b.rows()[0]).toMatchObject({ state: 'idle', prompt: null, bargeIns: 1, bargeInMs: 352 });
  });

  it('records the consent decision and its latency after the end of the answer', () => {
    const b = new CallBoard();
    start(b, 'c1');
    b.event('c1', { type: 'consent', decision: 'granted', phrase: '是', transcript: '是的', confidence: 1, complaint: false, reason: 'phrase', speechEndT: 5000, evidenceId: 'E1', t: 5210 });
    expect(b.rows()[0]).toMatchObject({ consent: { decision: 'granted', evidenceId: 'E1', complaint: false }, consentMs: 210 });
  });

  it('moves an ended call below the live ones, keeps its timeline, and forgets the oldest beyond the bound', () => {
    const b = new CallBoard();
    start(b, 'old');
    start(b, 'live');
    b.event('old', summary('hangup', 900));
    expect(b.rows().map((r) => [r.callId, r.live, r.endReason])).toEqual([['live', true, null], ['old', false, 'hangup']]);
    expect(b.timeline('old')?.map((e) => e.type)).toEqual(['call_summary']);
    expect(b.event('old', { type: 'prompt_started', promptId: 'x', t: 1 })).toBeNull();
    for (let i = 0; i < FINISHED_CALLS; i++) {
      start(b, `f${i}`);
      b.event(`f${i}`, summary('hangup', 1));
    }
    expect(b.timeline('old')).toBeNull();
    expect(b.rows().length).toBe(1 + FINISHED_CALLS);
  });

  it('keeps a bounded timeline per call and leaves partial transcripts out of it', () => {
    const b = new CallBoard();
    start(b, 'c1');
    b.event('c1', { type: 'transcript', text: 'sh', final: false, t: 1 });
    for (let i = 0; i < TIMELINE_EVENTS + 10; i++) b.event('c1', { type: 'prompt_resumed', promptId: 'p', t: i });
    const tl = b.timeline('c1')!;
    expect(tl.length).toBe(TIMELINE_EVENTS);
    expect(tl.some((e) => e.type === 'transcript')).toBe(false);
    expect(tl[0].t).toBe(10);
  });

  it('sends a row to the pages only for events that change what it shows, and a timeline only final transcripts', () => {
    expect(changesRow({ type: 'prompt_paused', promptId: 'p', playedMs: 1, t: 1 })).toBe(true);
    expect(changesRow(summary('hangup', 1))).toBe(true);
    expect(changesRow({ type: 'speech_started', onsetT: 1, t: 1 })).toBe(false);
    expect(changesRow({ type: 'transcript', text: 'shi', final: true, t: 1 })).toBe(false);
    expect(onTimeline({ type: 'transcript', text: 'sh', final: false, t: 1 })).toBe(false);
    expect(onTimeline({ type: 'transcript', text: 'shi', final: true, t: 1 })).toBe(true);
  });
});
