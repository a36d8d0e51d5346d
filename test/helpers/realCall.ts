// Real calls from ../shared/audio driven over the native protocol at real time: a labelled barge-in scenario
// (the prompt plays, the caller track streams from its first frame) and a consent answer. Shared by the
// observability tests, which look at what such a call leaves behind (metrics, spans).
import { expect } from 'vitest';
import type { Encoding } from '../../gateway/audio/codec.js';
import { TestCall, b64, type Received } from './client.js';
import { labels, wireAudio, type Label } from './corpus.js';

export type Event = Received['events'][number];

export function scenario(file: string): Label {
  const l = labels().find((x) => x.file === file);
  if (!l) throw new Error(`no label for ${file} in ../shared/audio/labels.jsonl`);
  return l;
}

/** Plays the scenario's prompt and streams its caller track from the first prompt frame; hangs up after it. */
export async function bargeInCall(url: string, callId: string, label: Label, opts: { hangup?: boolean; start?: Record<string, unknown> } = {}): Promise<TestCall> {
  const caller = wireAudio(label.file);
  const prompt = wireAudio(label.promptFile!);
  const enc: Encoding = 'pcm16';
  const c = new TestCall(url);
  const ready = await c.start({ callId, encoding: enc, sampleRate: caller.sampleRate, ...opts.start });
  expect(ready.type, JSON.stringify(ready)).toBe('ready');
  c.send({ type: 'play', promptId: 'greeting', audio: b64(enc, prompt.samples), interruptible: true });
  await c.firstFrame();
  await c.stream(caller.samples, enc, caller.sampleRate, 1);
  if (opts.hangup !== false) await c.hangup();
  return c;
}

/** Opens a consent window and streams the answer, then silence until the decision; returns the `consent` event. */
export async function consentAnswer(c: TestCall, label: Label, promptId = 'may-we-record'): Promise<Event> {
  const audio = wireAudio(label.file);
  c.send({ type: 'expect_consent', promptId });
  await c.stream(audio.samples, 'pcm16', audio.sampleRate, 1);
  const decided = c.waitFor('consent', 8000);
  const stop = { done: false };
  void decided.finally(() => (stop.done = true)).catch(() => undefined);
  // The line stays open after an answer: silence keeps arriving until the decision does.
  const silence = new Int16Array(320);
  for (let i = 0; i < 150 && !stop.done; i++) await c.stream(silence, 'pcm16', 16000, 1);
  return decided;
}
