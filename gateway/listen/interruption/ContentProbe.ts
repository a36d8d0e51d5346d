// Listens to the paused stretch of one call for the barge-in policy: while a pause is pending it has the recogniser
// look at the echo-cancelled audio from the onset (minus a pre-roll) up to now, a little later each time, and turns
// each transcript into a verdict — backchannel, content, or nothing heard. Idle otherwise: no recognition on a call
// that is not talking over a prompt.
//
// Each look is a whole utterance (accept + finish): the streaming model emits a token only once the 320 ms chunk
// after it is in, which is later than a barge-in may wait, while finish() pads with silence and decodes at once.
// Looks are re-decoded from the onset and at most one is in flight per call, so the cost is bounded by
// `maxMs` and `everyMs` and never queues up behind a slow worker.
import type { Logger } from 'pino';
import type { CallListener } from '../../call/Call.js';
import type { AsrResult, AsrStream } from '../asr/types.js';
import type { BargeInAction, ContentVerdict } from '../BargeInPolicy.js';
import type { TranscriptVerdict } from './InterruptionLexicon.js';

const RATE = 16000;

export interface ContentProbeOptions {
  preRollMs: number;
  /** First look this long after the onset (inbound ms), then every `everyMs` while the pause is pending. */
  firstAtMs: number;
  everyMs: number;
  /** No looks beyond this much audio after the onset. */
  maxMs: number;
}

export interface ContentProbeDeps extends ContentProbeOptions {
  openStream(): AsrStream;
  judge(text: string): TranscriptVerdict;
  /** Delivers a verdict to the call's barge-in policy; must not throw. */
  verdict(v: ContentVerdict, detail: { text: string; heardMs: number }): void;
  /** One pause's cost, when it ends: looks, recogniser CPU, speech heard after the onset (ms). */
  done?(s: { looks: number; cpuMs: number; heardMs: number }): void;
  log?: Logger;
}

interface Pending {
  onsetT: number;
  /** Absolute sample index of buf[0]. */
  start: number;
  buf: Float32Array;
  len: number;
  /** Inbound sample index at which the next look is due. */
  nextAt: number;
  inFlight: number | null;
  stream: AsrStream | null;
  done: boolean;
  looks: number;
}

export class ContentProbe implements CallListener {
  /** Recent audio for the pre-roll and the pause's own detection delay. */
  private readonly ring: Float32Array;
  private ringEnd = 0;
  private p: Pending | null = null;
  private looks = 0;
  private lookedMs = 0;

  constructor(private readonly d: ContentProbeDeps) {
    this.ring = new Float32Array(Math.round(((d.preRollMs + 1000) * RATE) / 1000));
  }

  /** Looks made and audio handed to the recogniser (ms, pre-roll and repeats included). */
  get stats(): { looks: number; lookedMs: number } {
    return { looks: this.looks, lookedMs: Math.round(this.lookedMs) };
  }

  audio(samples: Float32Array, start: number): void {
    const r = this.ring;
    const H = r.length;
    let w = ((start % H) + H) % H;
    for (let i = 0; i < samples.length; i++) {
      r[w] = samples[i];
      if (++w === H) w = 0;
    }
    this.ringEnd = start + samples.length;
    const p = this.p;
    if (!p || p.done) return;
    const from = Math.max(0, p.start + p.len - start);
    if (from < samples.length) this.append(p, samples.subarray(from));
    this.maybeLook(p);
  }

  speech(a: BargeInAction): void {
    if (a.type === 'pause') this.begin(a.onsetT);
    else if (a.type === 'resume' || a.type === 'commit') this.stop();
  }

  promptFinished(): void {
    this.stop();
  }

  close(): void {
    this.stop();
  }

  private begin(onsetT: number): void {
    this.stop();
    const onset = Math.round((onsetT * RATE) / 1000);
    const start = Math.max(0, onset - Math.round((this.d.preRollMs * RATE) / 1000), this.ringEnd - this.ring.length);
    const cap = Math.round(((this.d.preRollMs + this.d.maxMs) * RATE) / 1000);
    const p: Pending = { onsetT, start, buf: new Float32Array(cap), len: 0, nextAt: onset + Math.round((this.d.firstAtMs * RATE) / 1000), inFlight: null, stream: null, done: false, looks: 0 };
    const H = this.ring.length;
    for (let i = start; i < this.ringEnd && p.len < cap; i++) p.buf[p.len++] = this.ring[i % H];
    this.p = p;
    this.maybeLook(p);
  }

  private append(p: Pending, x: Float32Array): void {
    const n = Math.min(x.length, p.buf.length - p.len);
    p.buf.set(x.subarray(0, n), p.len);
    p.len += n;
  }

  private maybeLook(p: Pending): void {
    const end = p.start + p.len;
    if (p.done || p.inFlight !== null || end < p.nextAt) return;
    if (p.len >= p.buf.length) {
      // Past maxMs: the policy's duration rules decide what is left of this pause.
      p.done = true;
      return;
    }
    if (!p.stream) {
      try {
        p.stream = this.d.openStream();
      } catch (e) {
        this.fail(p, (e as Error).message);
        return;
      }
      p.stream.onResult((r) => this.onResult(p, r));
    }
    p.inFlight = end;
    const step = Math.round((this.d.everyMs * RATE) / 1000);
    while (p.nextAt <= end) p.nextAt += step;
    this.looks++;
    p.looks++;
    this.lookedMs += (p.len / RATE) * 1000;
    p.stream.accept(p.buf.slice(0, p.len));
    p.stream.finish();
  }

  private onResult(p: Pending, r: AsrResult): void {
    if (!r.final || p !== this.p || p.done || p.inFlight === null) return;
    const end = p.inFlight;
    p.inFlight = null;
    if (r.error) {
      this.fail(p, r.error);
      return;
    }
    const v = this.d.judge(r.text);
    const heardMs = Math.round(((end - p.start) * 1000) / RATE - this.d.preRollMs);
    // Audio that arrived while the recogniser worked on this look: its round trip in inbound time.
    const lagMs = Math.round(((this.ringEnd - end) * 1000) / RATE);
    // Per token log-probabilities too (what the recogniser was sure of), built only when the line is written.
    if (this.d.log?.isLevelEnabled('debug')) {
      const logProbs = r.logProbs?.map((x) => Math.round(x * 100) / 100);
      // Each token's time in ms from the onset (the recogniser's emission time: the first tokens of a look are often
      // stamped at its start, so these place words only roughly). Token times count from the stream's opening, and
      // this look's audio is the last (end − start) samples the stream was given.
      const base = (p.start * 1000) / RATE - p.onsetT - ((r.audioMs ?? 0) - ((end - p.start) * 1000) / RATE);
      const tokMs = r.tokenMs?.map((x) => Math.round(base + x));
      this.d.log.debug({ onsetT: p.onsetT, heardMs, lagMs, text: r.text, logProbs, tokMs, kind: v.kind, clear: v.clear, word: v.word }, 'barge-in content');
    }
    this.d.verdict({ kind: v.kind, clear: v.clear, other: v.other, onsetT: p.onsetT }, { text: r.text, heardMs });
    // The verdict may have ended the pause (commit): then p is no longer current.
    if (this.p === p) this.maybeLook(p);
  }

  private fail(p: Pending, message: string): void {
    p.done = true;
    this.d.log?.warn({ onsetT: p.onsetT, err: message }, 'barge-in content probe failed: duration rule decides');
    this.d.verdict({ kind: 'failed', onsetT: p.onsetT }, { text: '', heardMs: 0 });
  }

  private stop(): void {
    const p = this.p;
    if (!p) return;
    this.p = null;
    p.done = true;
    if (p.looks) {
      const heardMs = Math.max(0, ((p.start + p.len) * 1000) / RATE - p.onsetT);
      this.d.done?.({ looks: p.looks, cpuMs: p.stream?.stats().cpuMs ?? 0, heardMs: Math.round(heardMs) });
    }
    p.stream?.close();
  }
}
