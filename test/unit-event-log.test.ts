// The event log behind resumable event streams: ids, replay after an id, the three bounds, gaps, and ids from
// another process.
import { describe, expect, it } from 'vitest';
import { EventLog, type EventLogLimits } from '../gateway/call/EventLog.js';
import type { CallEvent } from '../gateway/call/events.js';

const LIMITS: EventLogLimits = { replayEvents: 100, replayPerCall: 50, endedRetentionMs: 60_000, endedReplayBytes: 1 << 20 };
const ready = (callId: string): CallEvent => ({ type: 'ready', callId, t: 0 });
const started = (promptId: string, t = 10): CallEvent => ({ type: 'prompt_started', promptId, t });
const summary = (callId: string): CallEvent => ({
  type: 'call_summary', callId, reason: 'hangup', t: 100, inboundMs: 100, wallMs: 100, echo: { locked: false, delayMs: null }, prompts: [],
  bargeIns: [], pausesResumed: 0, inboundFrameMs: { p50: null, p95: null, max: null, n: 0 }, vadFrameMs: { p50: null, p95: null, max: null, n: 0 }, firstAudioMs: { p50: null, p95: null, n: 0 },
});
const seqOf = (log: EventLog, id: string) => (log.parse(id) as { seq: number }).seq;

describe('event log', () => {
  it('gives every event an id of this process, increasing across calls, and tells subscribers at once', () => {
    const log = new EventLog(LIMITS);
    const seen: string[] = [];
    const seenA: string[] = [];
    log.subscribe((e) => seen.push(`${e.callId}:${e.type}`));
    log.subscribeCall('a', (e) => seenA.push(e.type));
    const ids = [log.append('a', ready('a')), log.append('b', ready('b')), log.append('a', started('p'))].map((e) => e.id);
    expect(ids.map((id) => seqOf(log, id))).toEqual([1, 2, 3]);
    expect(ids.every((id) => id.startsWith(`${log.epoch}-`))).toBe(true);
    expect(log.lastId).toBe(ids[2]);
    expect(seen).toEqual(['a:ready', 'b:ready', 'a:prompt_started']);
    expect(seenA).toEqual(['ready', 'prompt_started']);
    expect(JSON.parse(log.since({ seq: 0 }).events[2].json)).toEqual(started('p'));
  });

  it('replays the events after an id, of every call or of one', () => {
    const log = new EventLog(LIMITS);
    const a1 = log.append('a', ready('a'));
    log.append('b', ready('b'));
    log.append('a', started('p'));
    log.append('b', started('q'));
    expect(log.since({ seq: a1.seq }).events.map((e) => `${e.callId}:${e.type}`)).toEqual(['b:ready', 'a:prompt_started', 'b:prompt_started']);
    expect(log.since({ seq: a1.seq }).gap).toBe(false);
    expect(log.callSince('a', { seq: a1.seq })).toEqual({ events: [expect.objectContaining({ type: 'prompt_started', callId: 'a' })], gap: false });
    expect(log.since({ seq: 4 }).events).toEqual([]);
    expect(log.callSince('nobody', { seq: 0 })).toBeNull();
  });

  it('keeps the newest events of all calls, and says when a resume point was evicted', () => {
    const log = new EventLog({ ...LIMITS, replayEvents: 100 });
    for (let i = 0; i < 250; i++) log.append(`c${i % 5}`, started(`p${i}`, i));
    expect(log.since({ seq: 0 }).events).toHaveLength(100);
    expect(log.since({ seq: 0 }).gap).toBe(true);
    expect(log.since({ seq: 150 })).toMatchObject({ gap: false });
    expect(log.since({ seq: 150 }).events[0].seq).toBe(151);
    expect(log.since({ seq: 149 }).gap).toBe(true);
  });

  it('keeps the newest events of each call, with a gap before them', () => {
    const log = new EventLog({ ...LIMITS, replayPerCall: 20 });
    for (let i = 0; i < 30; i++) log.append('a', started(`p${i}`, i));
    const r = log.callSince('a', { seq: 0 })!;
    expect(r.events.map((e) => e.seq)).toEqual(Array.from({ length: 20 }, (_, i) => i + 11));
    expect(r.gap).toBe(true);
    expect(log.callSince('a', { seq: 10 })!.gap).toBe(false);
  });

  it("keeps an ended call's events for the retention time, then forgets them", () => {
    let now = 0;
    const log = new EventLog({ ...LIMITS, endedRetentionMs: 1000 }, () => now);
    log.append('a', ready('a'));
    log.append('a', summary('a'));
    expect(log.isEnded('a')).toBe(true);
    now = 999;
    expect(log.callSince('a', { seq: 1 })!.events.map((e) => e.type)).toEqual(['call_summary']);
    now = 1001;
    expect(log.has('a')).toBe(false);
    expect(log.callSince('a', { seq: 1 })).toBeNull();
  });

  it("bounds ended calls' events by bytes, dropping the longest-ended call first", () => {
    const log = new EventLog({ ...LIMITS, endedReplayBytes: 3000 });
    for (const id of ['a', 'b', 'c', 'd']) {
      log.append(id, ready(id));
      log.append(id, summary(id)); // ~ 400 bytes each call
    }
    const bytes = (id: string) => log.callSince(id, { seq: 0 })?.events.reduce((n, e) => n + e.json.length, 0) ?? 0;
    const per = bytes('d');
    for (let i = 0; i < 20; i++) log.append(`x${i}`, summary(`x${i}`));
    expect(log.has('a')).toBe(false);
    expect(log.has('x19')).toBe(true);
    const held = ['a', 'b', 'c', 'd', ...Array.from({ length: 20 }, (_, i) => `x${i}`)].filter((id) => log.has(id));
    expect(held.reduce((n, id) => n + bytes(id), 0)).toBeLessThanOrEqual(3000);
    expect(held.length).toBeGreaterThanOrEqual(Math.floor(3000 / per) - 1);
  });

  it('a call id used again after its call ended starts a log of its own', () => {
    const log = new EventLog(LIMITS);
    log.append('a', ready('a'));
    log.append('a', summary('a'));
    const second = log.append('a', ready('a'));
    expect(log.isEnded('a')).toBe(false);
    expect(log.callSince('a', { seq: 0 })!.events.map((e) => e.seq)).toEqual([second.seq]);
    expect(log.first('a', 'ready', 'live')?.seq).toBe(second.seq);
  });

  it('an id from another process resumes nothing silently: everything held, flagged as a gap; junk is refused', () => {
    const log = new EventLog(LIMITS);
    log.append('a', ready('a'));
    expect(log.parse('zzzz-12')).toEqual({ foreign: true });
    expect(log.since({ foreign: true })).toMatchObject({ gap: true, events: [expect.objectContaining({ type: 'ready' })] });
    expect(log.callSince('a', { foreign: true })!.gap).toBe(true);
    for (const bad of ['', '12', 'abc', `${log.epoch}-`, `${log.epoch}-1-2`, `${log.epoch}-${'9'.repeat(20)}`]) expect(log.parse(bad), bad).toBeNull();
    expect(log.parse(` ${log.epoch}-1 `)).toEqual({ seq: 1 });
  });
});
