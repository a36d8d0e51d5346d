// Checks every telephony wire of issue #16 passes the same way, through its platform's far end: a stopped prompt
// empties the far end's buffer with the platform's clear and `prompt_heard` reports only what played; what a broken
// far end sends ends that stream alone.
import { expect } from 'vitest';
import type { StartParams, Wire } from '../../bench/wires/types.js';
import type { AudioFormat } from '../../gateway/audio/codec.js';
import type { Gateway } from '../../gateway/Gateway.js';
import { command, drive, params, RawStream, tone, type DrivenCall } from './platformCalls.js';
import { until } from './until.js';

/** The call `p` started on `wire`: its audio format, the contract's fields from `p`, the platform's own block. */
export function expectStarted(gw: Gateway, p: StartParams, wire: string, format: AudioFormat, extra: Record<string, unknown>): void {
  const call = gw.calls.get(p.callId)!;
  expect(call.format).toEqual(format);
  expect(call.init).toMatchObject({ wire, language: p.language, callType: p.callType, callee: p.callee });
  expect(call.init.extra).toMatchObject(extra);
}

/** Runs `fn` while the far end streams line silence, as a live caller's line does. */
export async function withLineSilence(d: DrivenCall, fn: () => Promise<void>): Promise<void> {
  const stop = d.silence();
  try {
    await fn();
  } finally {
    stop();
  }
}

/**
 * `stop_prompt` over the control API brings the platform's clear, and no prompt audio reaches the far end after it
 * (waiting `settleMs` for stragglers); returns the clear.
 */
export async function expectStopClearsNow(d: DrivenCall, p: { http: string; token: string; callId: string; settleMs?: number }): Promise<{ wall: number }> {
  expect(await command(p.http, p.token, p.callId, 'stop_prompt')).toBe(202);
  const clear = await d.waitFor('far_end_clear');
  if (p.settleMs) await new Promise((r) => setTimeout(r, p.settleMs));
  expect(d.frames.filter((f) => f.wall > clear.wall + 5)).toEqual([]);
  return clear;
}

/** Nothing the platform would drop, ignore or hang up on was sent; the far end hangs up and the stream closes. */
export async function expectCleanHangup(d: DrivenCall): Promise<void> {
  expect(d.events.filter((e) => e.type === 'bench_bad_json')).toEqual([]);
  d.call.hangup();
  await until(() => d.closes.length > 0, 5000, 'onClose');
}

/**
 * A 3 s prompt at 16 kHz pcm16 through `wire`: its first frames arrive sample for sample (whatever the platform's
 * byte order), `stop_prompt` brings the platform's clear, no prompt audio after it, and `prompt_heard` incomplete.
 */
export async function expectStopClears(p: { gw: Gateway; wire: Wire; base: string; http: string; token: string; callId: string }): Promise<void> {
  const sp: StartParams = params(p.callId, { audio: { encoding: 'pcm16', sampleRate: 16000 } });
  const d = await drive(p.wire, p.base, p.token, sp);
  expect(p.gw.calls.get(p.callId)!.format).toEqual({ encoding: 'pcm16', sampleRate: 16000 });
  const stop = d.silence();
  try {
    const prompt = tone(sp, 3000);
    d.call.play('long', prompt, true);
    await until(() => d.frames.length >= 25, 3000, 'half a second of prompt');
    const got = Buffer.concat(d.frames.slice(0, 10).map((f) => f.bytes));
    expect(got.equals(Buffer.from(prompt, 'base64').subarray(0, got.length))).toBe(true);
    await expectStopClearsNow(d, p);
    const heard = await d.waitFor('prompt_heard');
    expect(heard).toMatchObject({ promptId: 'long', complete: false });
    expect(heard.heardMs as number).toBeGreaterThan(300);
    expect(heard.heardMs as number).toBeLessThan(1500);
    await expectCleanHangup(d);
  } finally {
    stop();
  }
}

/** What a broken far end sends: each case on its own socket ends that stream with its close code and reason. */
export interface BrokenCase {
  name: string;
  first: unknown;
  /** Sent 50 ms after `first` (once the start was taken). */
  then?: unknown;
  /** The close reason: `code: message`. */
  code: RegExp;
  /** The close code, 4400 unless given. */
  close?: number;
}

/** A stream with the wrong credentials is closed with 4401 and its start (naming `callId`) makes no call. */
export async function expectRefusedWithoutToken(gw: Gateway, url: string, opts: { protocol?: string; headers?: Record<string, string> }, first: unknown, callId: string): Promise<void> {
  const bad = new RawStream(url, opts);
  bad.ws.on('open', () => bad.send(first));
  expect((await bad.closed).code).toBe(4401);
  expect(gw.calls.has(callId)).toBe(false);
}

/** Each case on its own raw socket at `url`: that stream alone ends, with the case's close code and reason. */
export async function expectBrokenStreamsClosed(gw: Gateway, url: string, cases: BrokenCase[], opts: { protocol?: string; headers?: Record<string, string> } = {}): Promise<void> {
  for (const c of cases) {
    const s = await new RawStream(url, opts).open();
    s.send(c.first);
    if (c.then) setTimeout(() => s.send(c.then), 50);
    const closed = await s.closed;
    expect(closed.code, c.name).toBe(c.close ?? 4400);
    expect(closed.reason, c.name).toMatch(c.code);
  }
  expect(gw.serving).toBe(true);
}

/** `expectBrokenStreamsClosed` beside a live call on the same wire, which goes on and hangs up cleanly. */
export async function expectOnlyBrokenStreamsEnd(p: { gw: Gateway; wire: Wire; base: string; token: string; url: string; protocol?: string; cases: BrokenCase[] }): Promise<void> {
  const id = `${p.wire.name}-bystander`;
  const bystander = await drive(p.wire, p.base, p.token, params(id));
  const stop = bystander.silence();
  try {
    await expectBrokenStreamsClosed(p.gw, p.url, p.cases, { protocol: p.protocol });
    expect(p.gw.calls.get(id)?.isEnded).toBe(false);
    bystander.call.hangup();
    await until(() => bystander.closes.length > 0, 5000, 'bystander onClose');
    expect(bystander.events.find((e) => e.type === 'call_summary')).toMatchObject({ reason: 'hangup' });
  } finally {
    stop();
  }
}
