// Consent answers streamed through a running gateway exactly as a call carries them: native WebSocket, `start`,
// `expect_consent`, the answer at real time (16 kHz pcm16, or the 8 kHz μ-law twin as μ-law), then line silence
// until the decision. Used by the consent eval (bench/eval-consent.ts) and the end-to-end test.
import { join } from 'node:path';
import WebSocket from 'ws';
import { encode, type Encoding } from '../../gateway/audio/codec.js';
import { readWav } from '../../gateway/audio/wav.js';
import { wireFile, type ConsentItem, type Expected, type Rate } from './corpus.js';
import type { Outcome } from './folds.js';

export interface LiveOutcome extends Outcome {
  callId: string;
  transcript: string;
  confidence: number | null;
  reason: string;
  evidenceId: string | null;
  /** Inbound ms of the decision event. */
  t: number | null;
  /** Inbound ms the gateway put the end of the answer at (VAD end of speech less the end silence). */
  speechEndT?: number | null;
}

export interface LiveJob {
  item: ConsentItem;
  rate: Rate;
}

export interface LiveOptions {
  /** ws://host:port/v1/stream */
  url: string;
  /** Corpus root. */
  dir: string;
  concurrency: number;
  /** Spreads the first calls' starts over this many ms, so the answers do not all end in the same instant. */
  staggerMs?: number;
  /** Line silence after the answer before giving up on a decision, s. */
  silenceS?: number;
  callIdPrefix?: string;
  headers?: Record<string, string>;
  onOutcome?: (o: LiveOutcome, done: number) => void;
}

export async function runLive(jobs: readonly LiveJob[], opts: LiveOptions): Promise<LiveOutcome[]> {
  const out: LiveOutcome[] = [];
  let next = 0;
  const worker = async (w: number) => {
    if (opts.staggerMs) await sleep((w * opts.staggerMs) / opts.concurrency);
    while (next < jobs.length) {
      const i = next++;
      const o = await runOne(jobs[i]!, `${opts.callIdPrefix ?? 'consent'}-${i}-${jobs[i]!.rate}`, opts);
      out.push(o);
      opts.onOutcome?.(o, out.length);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, opts.concurrency) }, (_, w) => worker(w)));
  return out;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function runOne(job: LiveJob, callId: string, opts: LiveOptions): Promise<LiveOutcome> {
  const { item, rate } = job;
  const enc: Encoding = rate === '16k' ? 'pcm16' : 'mulaw';
  const clip = readWav(join(opts.dir, wireFile(item, rate)));
  const ws = new WebSocket(opts.url, { headers: opts.headers ?? {} });
  await new Promise<void>((res, rej) => ws.once('open', () => res()).once('error', rej));
  let decision: Record<string, unknown> | null = null;
  let failure: string | null = null;
  let ready!: () => void;
  const readyP = new Promise<void>((r) => (ready = r));
  ws.on('message', (d, bin) => {
    if (bin) return;
    const e = JSON.parse(String(d)) as Record<string, unknown>;
    if (e.type === 'ready') ready();
    else if (e.type === 'rejected' || (e.type === 'error' && !decision)) {
      failure = `${String(e.type)}: ${String(e.code ?? e.reason ?? '')} ${String(e.message ?? '')}`;
      ready();
    } else if (e.type === 'consent') decision = e;
  });
  ws.send(JSON.stringify({ type: 'start', callId, language: item.label.lang ?? 'zh', callType: 'notification', audio: { encoding: enc, sampleRate: clip.sampleRate } }));
  await readyP;
  const base = { item, rate, phase: 0, callId };
  if (failure) {
    ws.close();
    return { ...base, decision: 'none', latencyMs: null, transcript: '', confidence: null, reason: failure, evidenceId: null, t: null };
  }
  ws.send(JSON.stringify({ type: 'expect_consent', promptId: 'may-we-continue' }));
  const step = clip.sampleRate / 50;
  // The answer, then line silence until the decision (a real line stays open after the callee has spoken).
  const audio = new Int16Array(clip.samples.length + clip.sampleRate * (opts.silenceS ?? 3));
  audio.set(clip.samples);
  const t0 = performance.now();
  for (let i = 0, k = 0; i < audio.length && !decision && ws.readyState === WebSocket.OPEN; i += step, k++) {
    ws.send(encode(enc, audio.subarray(i, i + step)));
    const wait = t0 + (k + 1) * 20 - performance.now();
    if (wait > 1) await sleep(wait);
  }
  for (let i = 0; i < 50 && !decision; i++) await sleep(20);
  ws.close();
  const d = decision as Record<string, unknown> | null;
  if (!d) return { ...base, decision: 'none', latencyMs: null, transcript: '', confidence: null, reason: failure ?? 'no decision', evidenceId: null, t: null };
  const t = Number(d.t);
  return {
    ...base,
    decision: d.decision as Expected,
    latencyMs: t - (item.label.speechEndMs ?? 0),
    transcript: String(d.transcript ?? ''),
    confidence: typeof d.confidence === 'number' ? d.confidence : null,
    reason: String(d.reason ?? ''),
    evidenceId: (d.evidenceId as string | null) ?? null,
    t,
    speechEndT: typeof d.speechEndT === 'number' ? d.speechEndT : null,
  };
}
