// Content decisions replayed offline, deterministically: the real-time eval's looks come back from the recogniser
// pool after a lag that depends on the machine's load, so two runs of one configuration disagree on about one
// no-barge-in scenario in fifteen (README "Content decisions replayed offline" in "Measured"). Here each scenario's
// echo-cancelled residual (what ContentProbe hears) is cut where the probe would cut it — from `preRollMs` before the
// pause's onset to each look's due time — and decoded in this thread by the gateway's own recogniser and search (asr.* config,
// the consent lexicon's hotwords), with the worker's tail padding; the verdict reaches BargeInPolicy `lagMs` later.
// Transcripts are cached per cut, so rule and lexicon variants replay in seconds once the looks are decoded.
// What it leaves out: the lag's spread, a look's audio running a chunk past its due time, and the echo search's
// phase — the residual comes from a canceller of its own, whose searches (staggered by creation order on a thread,
// EchoCanceller's `sinceSearch`) may lock a search interval apart from those of the frames' canceller.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { Config } from '../../gateway/config.js';
import { recogniserSearch } from '../../gateway/features/consent.js';
import { DEFAULT_TAIL_PADDING_MS } from '../../gateway/infer/AsrWorkerPool.js';
import { createEngine } from '../../gateway/listen/asr/backends.js';
import type { AsrEngine } from '../../gateway/listen/asr/engine.js';
import { BargeInPolicy, type BargeInAction, type ContentRules } from '../../gateway/listen/BargeInPolicy.js';
import { loadLexiconFile, type TokenType } from '../../gateway/listen/consent/index.js';
import { InboundAudio } from '../../gateway/listen/InboundAudio.js';
import type { InterruptionLexicon } from '../../gateway/listen/interruption/InterruptionLexicon.js';
import { VAD_FRAME_MS } from '../../gateway/listen/vad/VadModel.js';
import type { FrameEvidence } from '../../gateway/listen/nearEnd/classifierFrame.js';
import { isResolved, resolveModel } from '../../gateway/models.js';
import type { ScenarioLabel } from './labels.js';
import { backgroundOf, probOf, streamScenario, type FramePolicy, type ScenarioFrames } from './offline.js';

const RATE = 16000;

/** The echo-cancelled residual of one scenario at 16 kHz (8 kHz calls: upsampled, as the probe hears it). */
export function residualOf(root: string, l: ScenarioLabel, rate: 8000 | 16000, echo: Config['echo']): Float32Array {
  const inbound = new InboundAudio(echo, true, false, rate);
  const pieces: { start: number; samples: Float32Array }[] = [];
  for (const _ of streamScenario(root, l, rate, inbound)) {
    inbound.takeFrames();
    pieces.push(...inbound.takeResidual());
  }
  const last = pieces[pieces.length - 1];
  const out = new Float32Array(last ? last.start + last.samples.length : 0);
  for (const r of pieces) out.set(r.samples, r.start);
  return out;
}

/** Transcripts of cuts of a scenario's residual: `key` names the scenario and rate, [a, b) are 16 kHz samples. */
export interface LookSource {
  text(key: string, x: Float32Array, a: number, b: number): string;
}

/** The recogniser the content probe uses (the consent pool's main engine, no second opinions), and its cache of cuts. */
export class LookDecoder implements LookSource {
  private readonly engine: AsrEngine;
  private readonly cache: Record<string, string>;
  private dirty = false;

  constructor(
    cfg: Config,
    private readonly cacheFile: string,
  ) {
    const r = resolveModel(cfg.asr.model, cfg.modelsDir);
    if (!isResolved(r)) throw new Error(`recogniser ${cfg.asr.model} not found: npm run models`);
    const tokenType = (r.entry.tokenType ?? 'char') as TokenType;
    const { decoding } = recogniserSearch(cfg, loadLexiconFile((r.entry.language ?? 'zh') as 'zh' | 'en', cfg.consent.lexiconFile), tokenType, r.files.tokens);
    this.engine = createEngine({ mode: 'recognizer', entry: r.entry, files: r.files, threads: 1, decoding, dynamicBatch: false });
    const raw = existsSync(cacheFile) ? (JSON.parse(readFileSync(cacheFile, 'utf8')) as { engine: string; looks: Record<string, string> }) : null;
    // Transcripts of another recogniser or search are not these.
    this.cache = raw && raw.engine === this.engine.name ? raw.looks : {};
  }

  /** The transcript of residual samples [a, b) of scenario `key`. */
  text(key: string, x: Float32Array, a: number, b: number): string {
    const k = `${key}|${a}|${b}`;
    const hit = this.cache[k];
    if (hit !== undefined) return hit;
    const es = this.engine.createStream({ secondOpinions: false, narrowband: false });
    es.accept(x.slice(a, b));
    // The ASR worker's tail padding: what finish() appends before decoding.
    es.accept(new Float32Array(Math.round((DEFAULT_TAIL_PADDING_MS * RATE) / 1000)));
    es.inputFinished();
    while (es.isReady()) es.decode();
    const text = es.result().text;
    this.cache[k] = text;
    this.dirty = true;
    return text;
  }

  save(): void {
    if (this.dirty) writeFileSync(this.cacheFile, JSON.stringify({ engine: this.engine.name, looks: this.cache }));
    this.dirty = false;
  }
}

export interface ContentReplayOptions {
  rules: ContentRules;
  preRollMs: number;
  firstAtMs: number;
  everyMs: number;
  maxMs: number;
  /** A look's round trip: its verdict reaches the policy this long after its audio ends (the eval's median: 16–32). */
  lagMs: number;
  /** The policy's commit threshold, when a classifier sets its own (bargeIn.interruption.commitMinSpeechMs). */
  commitMinSpeechMs?: number;
  /** A frame classifier's say on the VAD's evidence, in place (classifierFrame.ts's applyClassifier, as Call does). */
  evidence?: (s: ScenarioFrames, i: number, e: FrameEvidence, interruptible: boolean, paused: boolean) => void;
}

/**
 * BargeInPolicy with content verdicts, as Call and ContentProbe drive it: while a pause is pending a look is due at
 * onset + firstAtMs, then every everyMs (one in flight, none past maxMs), each judged by the interruption lexicon.
 */
export function contentPolicy(cfg: Config, o: ContentReplayOptions, lex: InterruptionLexicon, dec: LookSource, residual: (s: ScenarioFrames) => Float32Array): FramePolicy {
  const p = new BargeInPolicy({
    ...cfg.bargeIn,
    ...(o.commitMinSpeechMs !== undefined ? { commitMinSpeechMs: o.commitMinSpeechMs } : {}),
    endSilenceMs: cfg.consent.endSilenceMs,
    endThreshold: cfg.consent.endThreshold,
    contentRules: o.rules,
  });
  p.setContentAware(true);
  let over: ((i: number) => number) | null = null;
  const dt = cfg.vad.rejectDtmf;
  let pending: { onsetT: number; nextAt: number; inFlight: { at: number; kind: 'backchannel' | 'content' | 'none'; clear: boolean; other: number } | null } | null = null;
  let x: Float32Array | null = null;
  const follow = (acts: BargeInAction[]) => {
    for (const a of acts) {
      if (a.type === 'pause') pending = { onsetT: a.onsetT, nextAt: a.onsetT + o.firstAtMs, inFlight: null };
      else if (a.type === 'resume' || a.type === 'commit') pending = null;
    }
    return acts;
  };
  return {
    frame: (s, i, interruptible) => {
      over ??= backgroundOf(s, (j) => probOf(s, j, dt));
      x ??= residual(s);
      const t = Math.round((i + 1) * VAD_FRAME_MS);
      const out: BargeInAction[] = [];
      // A verdict that came back before this frame's last sample.
      const f = pending?.inFlight;
      if (pending && f && f.at <= t) {
        pending.inFlight = null;
        out.push(...follow(p.content({ kind: f.kind, clear: f.clear, other: f.other, onsetT: pending.onsetT }, t)));
      }
      const e: FrameEvidence = { prob: probOf(s, i, dt), echo: s.cols.echo[i] === 1, overBackgroundDb: over(i) };
      o.evidence?.(s, i, e, interruptible, p.isPaused);
      out.push(...follow(p.frame({ t, durMs: VAD_FRAME_MS, ...e }, interruptible)));
      const q = pending as typeof pending;
      if (q && !q.inFlight && t >= q.nextAt && q.nextAt - q.onsetT <= o.maxMs) {
        const end = q.nextAt;
        const a = Math.max(0, Math.round(((q.onsetT - o.preRollMs) * RATE) / 1000));
        const b = Math.min(x.length, Math.round((end * RATE) / 1000));
        const v = lex.judge(dec.text(`${s.id}|${s.rate}`, x, a, b));
        q.inFlight = { at: end + o.lagMs, kind: v.kind, clear: v.clear, other: v.other };
        while (q.nextAt <= end) q.nextAt += o.everyMs;
      }
      return out;
    },
  };
}
