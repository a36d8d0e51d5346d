// One phone call, whichever wire it arrived on. Inbound: decode → resample to 16 kHz → [listen worker: echo cancel →
// VAD, batched with the shard's other calls] → barge-in policy → listeners (ASR/consent). Outbound: prompts →
// Playout (paced) → encode → wire, and the same audio to the listen worker as the echo reference.
// Wires turn their messages into these few methods and turn CallEvents back into their own messages.
import type { Logger } from 'pino';
import { bytesPerSample, decode, type AudioFormat } from '../audio/codec.js';
import { Resampler } from '../audio/resampler.js';
import type { BargeInConfig, Config } from '../config.js';
import { applyClassifier, type ClassifierUse, type FrameEvidence } from '../listen/nearEnd/classifierFrame.js';
import { BargeInPolicy, type BargeInAction, type ContentVerdict } from '../listen/BargeInPolicy.js';
import type { EchoPath } from '../listen/EchoCanceller.js';
import type { EchoEvent } from '../listen/InboundAudio.js';
import { VAD_FRAME, VAD_FRAME_MS, type ListenFrame, type ListenService, type ListenSession, type NarrowFrame } from '../listen/ListenService.js';
import { metrics } from '../ops/metrics.js';
import { Playout, type Pacer, type PromptAudio } from '../speak/Playout.js';
import type { CallEvent, EventOf, UntimedEvent } from './events.js';
import { InboundRateBudget } from './InboundRateBudget.js';
import { LatencyLog } from './LatencyLog.js';
import { promptReference } from './PromptReference.js';
import { onAtRate } from '../perRate.js';

/** bargeIn.interruption as the per-frame rule applies it (classifierFrame.ts). */
function interruptionUse(it: Config['bargeIn']['interruption']): ClassifierUse {
  return { kind: 'interruption', mode: it.mode, pauseThreshold: it.pauseThreshold, silenceThreshold: it.silenceThreshold };
}

export type { CallEvent } from './events.js';

export const MODEL_RATE = 16000;
/** Where inbound frames are decoded: the listen service copies them out before `audio` returns, so one will do. */
const inboundScratch = new Int16Array(MODEL_RATE * 2);

export interface CallSink {
  /** Prompt audio in the call's encoding; false = the transport is backed up beyond its limit. */
  sendAudio(bytes: Uint8Array, meta: { promptId: string; offsetMs: number }): boolean;
  sendEvent(ev: CallEvent): void;
  /** The pacer tick's frames for this call are all handed over: a sink that held them back writes them now. */
  flushAudio?(): void;
  /** Wires with a far-end buffer (Twilio, Vonage) flush it here on barge-in. */
  clearAudio?(promptId: string): void;
  /** Wires with marks report what was heard; called when a prompt finishes. */
  close(code: number, reason: string): void;
  /**
   * A far end that takes prompt audio in pieces longer than a frame (files, 100 ms chunks) needs each piece before
   * its first sample is due, so the playout sends this far ahead of its clock instead of `playout.lookaheadMs`
   * (whichever is larger). Read once, when the call starts.
   */
  readonly playoutLeadMs?: number;
}

/** Something that listens to the callee: ASR, consent. */
export interface CallListener {
  /** Echo-cancelled 16 kHz audio; `start` is its first sample's index on the inbound timeline. */
  audio?(samples: Float32Array, start: number): void;
  speech?(a: BargeInAction): void;
  /**
   * Speech start / end as an 8 kHz call's own 8 kHz VAD hears them, while `Call.narrowCuts(true)` (a consent window;
   * consent.narrowbandVad): the consent session's cuts. Barge-in and the client's `speech_*` events never use them.
   */
  narrowSpeech?(a: BargeInAction): void;
  promptFinished?(p: PromptAudio, interrupted: boolean): void;
  close?(): void | Promise<void>;
}

export interface CallInit {
  callId: string;
  wire: string;
  format: AudioFormat;
  language: 'zh' | 'en';
  callType: 'marketing' | 'notification';
  callee?: string;
  bargeIn?: Partial<BargeInConfig>;
  extra?: Record<string, unknown>;
}

export interface CallServices {
  config: Config;
  listen: ListenService;
  pacer: Pacer;
  log: Logger;
  /** The call has ended and its sink is closed: its id is free again. */
  ended?(call: Call): void;
}

/** One 32 ms VAD frame as a watcher sees it: speech probability, echo verdict and the inbound level. */
export interface FrameSample {
  t: number;
  prob: number;
  echo: boolean;
  levelDb: number;
}

export class Call {
  readonly id: string;
  readonly format: AudioFormat;
  readonly startedAt = Date.now();
  readonly playout: Playout;
  readonly log: Logger;
  readonly latency = new LatencyLog();
  private readonly listen: ListenSession;
  private readonly policy: BargeInPolicy;
  /**
   * Whether this call's pauses take content verdicts: `bargeIn.content.enabled` at this call's rate (perRate.ts),
   * decided once when the call was made. A content feature attaches its probe only where this holds.
   */
  readonly takesContentVerdicts: boolean;
  /** The segmentation of `narrowSpeech` (the barge-in policy's, on the 8 kHz VAD, no prompt), while asked for. */
  private narrowPolicy: BargeInPolicy | null = null;
  /** Frames before this index were scored before the 8 kHz VAD was last turned on (still in flight): ignored. */
  private narrowFrom = 0;
  /** The barge-in settings with the call's updates, for a fresh `narrowPolicy`. */
  private bargeInOpts: BargeInConfig;
  /** The frame classifier the listen worker scores for this call's barge-in decision (bargeIn.nearEnd or .interruption). */
  private classifier: ClassifierUse | null;
  private readonly evidence: FrameEvidence = { prob: 0, echo: false, overBackgroundDb: Infinity };
  private readonly listeners: CallListener[] = [];
  private readonly inboundBudget: InboundRateBudget;
  private readonly bytesPerMs: number;
  private samples16k = 0; // inbound timeline position
  private firstAudioAt = 0;
  lastAudioAt = Date.now();
  private ended = false;
  private decisionWall = 0;
  private decisionPrompt: string | null = null;
  private pauseT = 0;
  private prompts: { promptId: string; playedMs: number; interrupted: boolean; reason: string }[] = [];
  private requested = new Map<string, number>();
  /** Per-frame trace (probability, echo gate figures) for tuning; only at log level trace. */
  private readonly traceFrames: boolean;
  /** Watchers of the per-frame VAD view (the live monitor's plot); empty unless someone watches this call. */
  private readonly frameTaps = new Set<(f: FrameSample) => void>();
  /** Peak inbound level since the last VAD frame, dBFS; measured only while a tap is set. */
  private peakDb = -96;
  private readonly refMap: { nextPlayAt: number; resampler: Resampler | null; skipped: boolean }[];
  /**
   * Wall clock → inbound timeline: inbound sample ≈ wall ms × 16 + clockOffset. Audio arrives late but never
   * early, so the least-late observation (the maximum) is the truest; one mapping for the whole call keeps every
   * reference path and every stretch of playout aligned with each other.
   */
  private clockOffset = -Infinity;
  private mapOffset = 0;

  constructor(
    readonly init: CallInit,
    private readonly svc: CallServices,
    private readonly sink: CallSink,
  ) {
    this.id = init.callId;
    this.format = init.format;
    this.log = svc.log;
    this.traceFrames = this.log.isLevelEnabled('trace');
    const cfg = svc.config;
    this.inboundBudget = new InboundRateBudget({ maxRatio: cfg.limits.maxInboundRatio, burstMs: cfg.limits.inboundBurstMs }, performance.now());
    this.bytesPerMs = (bytesPerSample(init.format.encoding) * init.format.sampleRate) / 1000;
    const rs = () => (init.format.sampleRate === MODEL_RATE ? null : new Resampler(init.format.sampleRate, MODEL_RATE));
    this.refMap = [0, 1].map(() => ({ nextPlayAt: -1, resampler: rs(), skipped: false }));
    const bi = { ...cfg.bargeIn, ...init.bargeIn };
    this.bargeInOpts = bi;
    // With the near-end classifier: its probability caps the VAD's (veto) or stands in for it and the echo gate
    // (replace), on its own thresholds.
    const ne = cfg.bargeIn.nearEnd;
    // The interruption classifier, when on, is what the worker scores (in the near-end classifier's place); its
    // `commitMinSpeechMs` is the commit's (a commit only ever follows a pause over a prompt). `withContent`: only once
    // a content probe listens to this call (setContentAware), the pairing that was measured.
    const it = cfg.bargeIn.interruption;
    this.classifier = it.enabled === true ? interruptionUse(it) : ne.enabled ? { kind: 'nearEnd', mode: ne.mode } : null;
    this.takesContentVerdicts = onAtRate(bi.content.enabled, init.format.sampleRate);
    this.policy = new BargeInPolicy({
      ...bi,
      ...(ne.enabled ? { pauseThreshold: ne.pauseThreshold, silenceThreshold: ne.silenceThreshold, commitMinSpeechMs: ne.commitMinSpeechMs } : {}),
      ...(it.enabled === true ? { commitMinSpeechMs: it.commitMinSpeechMs } : {}),
      endSilenceMs: cfg.consent.endSilenceMs,
      endThreshold: cfg.consent.endThreshold,
      contentRules: this.takesContentVerdicts ? bi.content : undefined,
    });
    this.listen = svc.listen.open(
      {
        frame: (f) => this.onFrame(f),
        residual: (x, start) => {
          for (const l of this.listeners) l.audio?.(x, start);
        },
        echo: (ev) => this.onEcho(ev),
        narrowFrame: (f) => this.onNarrowFrame(f),
        // Without its listen worker the call cannot hear the callee (no barge-in, no consent): ended, not left deaf.
        failed: (cause) => this.fail('listen_failed', 'the listen worker serving this call failed, so the call was ended; try it again', 1011, { cause }),
      },
      // The wire's rate: 8 kHz audio is upsampled in the listen worker, off the event loop.
      { trace: this.traceFrames, rate: init.format.sampleRate },
    );
    this.playout = new Playout(init.format, Math.max(cfg.playout.lookaheadMs, sink.playoutLeadMs ?? 0), {
      started: (p) => this.emit({ type: 'prompt_started', promptId: p.promptId }),
      paused: (p, playedMs) => this.emit({ type: 'prompt_paused', promptId: p.promptId, playedMs }),
      resumed: (p) => this.emit({ type: 'prompt_resumed', promptId: p.promptId }),
      finished: (p, interrupted, playedMs, reason) => this.onPromptFinished(p, interrupted, playedMs, reason),
      frame: (bytes, pcm, p, playAt, offsetMs, at) => this.onPromptFrame(bytes, pcm, p, playAt, offsetMs, at),
      shadow: (pcm, p, playAt, at) => this.addReference(pcm, playAt, performance.now(), 1, p, at),
    }, cfg.playout.frameMs, cfg.playout.framesPerWrite);
    svc.pacer.add(
      this.playout,
      () => this.fail('slow_consumer', 'client is not reading prompt audio fast enough', 1008),
      () => this.sink.flushAudio?.(),
    );
    metrics.activeCalls.inc({ wire: init.wire });
  }

  get isEnded(): boolean {
    return this.ended;
  }

  /** Inbound-audio ms since the first audio byte. */
  get t(): number {
    return Math.round(this.samples16k / 16);
  }

  get inboundSamples(): number {
    return this.samples16k;
  }

  addListener(l: CallListener): void {
    this.listeners.push(l);
    // Echo-cancelled audio comes back from the listen worker only for calls that have someone to hear it.
    if (l.audio) this.listen.setResidual(true);
  }

  setBargeIn(opts: Partial<BargeInConfig>): void {
    this.policy.update(opts);
    this.bargeInOpts = { ...this.bargeInOpts, ...opts };
  }

  /** Whether this call can have its own 8 kHz VAD (`narrowCuts`): an 8 kHz call on listen workers that load one. */
  get hasNarrowVad(): boolean {
    return this.svc.listen.narrowVad && this.format.sampleRate === 8000;
  }

  /**
   * Turns the 8 kHz VAD of this call on or off (consent.narrowbandVad: only while a consent window is open, so it
   * costs nothing on other calls). Its frames are cut into utterances by the same rules as the call's own speech
   * events — a BargeInPolicy with the call's settings and no prompt, as the offline replays cut them
   * (bench/consent/utterances.ts) — and go to `narrowSpeech` listeners. False: there is no such VAD (a 16 kHz call,
   * or the listen workers run without one); the caller keeps the shared VAD's events.
   */
  narrowCuts(on: boolean): boolean {
    if (!this.hasNarrowVad) return false;
    if (on === (this.narrowPolicy !== null)) return true;
    this.narrowPolicy = on ? new BargeInPolicy({ ...this.bargeInOpts, endSilenceMs: this.svc.config.consent.endSilenceMs, endThreshold: this.svc.config.consent.endThreshold }) : null;
    this.narrowFrom = Math.ceil(this.samples16k / VAD_FRAME);
    this.listen.setNarrowVad(on);
    return true;
  }

  /** A content probe listens to this call's pauses: a commit may wait for its verdict (README "Barge-in"). */
  setContentAware(on: boolean): void {
    this.policy.setContentAware(on);
    const it = this.svc.config.bargeIn.interruption;
    if (on && it.enabled === 'withContent') {
      this.classifier = interruptionUse(it);
      this.policy.update({ commitMinSpeechMs: it.commitMinSpeechMs });
    }
  }

  /** Which frame classifier this call's barge-in decisions use (bargeIn.interruption / .nearEnd), if any. */
  get bargeInClassifier(): 'interruption' | 'nearEnd' | null {
    return this.classifier?.kind ?? null;
  }

  /** What the content probe heard in the pending pause; may commit the barge-in now. */
  contentVerdict(v: ContentVerdict): void {
    if (this.ended) return;
    for (const a of this.policy.content(v, this.t)) this.onAction(a);
  }

  // --- inbound -------------------------------------------------------------------------------------------------

  /** Caller audio in the negotiated encoding. Throws CodecError for a frame that cannot be decoded. */
  audio(bytes: Uint8Array): void {
    if (this.ended) return;
    const t0 = performance.now();
    // Checked before any work is done on the frame: a client far ahead of real time is ended, not served.
    if (!this.inboundBudget.spend(bytes.length / this.bytesPerMs, t0)) {
      const l = this.svc.config.limits;
      return this.fail('audio_too_fast', `inbound audio arrives faster than ${l.maxInboundRatio}× real time (beyond a ${l.inboundBurstMs} ms burst)`, 1008);
    }
    const pcm = decode(this.format.encoding, bytes, inboundScratch);
    if (this.frameTaps.size) this.peakDb = Math.max(this.peakDb, peakDbfs(pcm));
    this.lastAudioAt = Date.now();
    if (!this.firstAudioAt) this.firstAudioAt = this.lastAudioAt;
    const added = this.listen.pushPcm16(pcm);
    if (added < 0) return this.fail('listen_overloaded', 'the listen worker of this call is too far behind; try again later', 1013);
    this.samples16k += added;
    const off = this.samples16k - (t0 * MODEL_RATE) / 1000;
    if (off > this.clockOffset) this.clockOffset = off;
    const dt = performance.now() - t0;
    this.latency.inboundFrame(dt);
    metrics.inboundFrameSeconds.observe(dt / 1000);
  }

  private onEcho(ev: EchoEvent): void {
    if (ev.type === 'lock') this.log.debug({ delayMs: ev.delaySamples / 16 }, 'echo path found');
    else if (ev.type === 'state') this.log.debug({ state: ev.state, t: Math.round(ev.at / 16) }, 'echo path state');
    else this.log.trace(ev.info, 'echo delay search');
  }

  private onFrame(f: ListenFrame): void {
    if (this.ended) return;
    metrics.vadFrameLatency.observe(f.latencyMs / 1000);
    this.latency.vadFrame(f.latencyMs);
    const t = Math.round((f.index + 1) * VAD_FRAME_MS);
    if (this.traceFrames && f.trace) {
      const db = (x: number) => Math.round(10 * Math.log10(x / 512 + 1e-12));
      const { res, exp, ref, locked } = f.trace;
      this.log.trace({ t, p: Math.round(f.prob * 100) / 100, echo: f.echo, res: db(res), exp: db(exp), ref: db(ref), lock: locked }, 'vad');
    }
    if (this.frameTaps.size) {
      const sample: FrameSample = { t, prob: f.prob, echo: f.echo, levelDb: this.peakDb };
      this.peakDb = -96;
      for (const tap of this.frameTaps) tap(sample);
    }
    const cur = this.playout.current;
    const interruptible = !!cur && cur.interruptible;
    // A classifier's score, when one runs, caps the VAD's evidence or stands in for it (classifierFrame.ts: the same
    // rule the offline replays apply); the evidence is one object per call, written in place each frame.
    const e = this.evidence;
    e.prob = f.prob;
    e.echo = f.echo;
    e.overBackgroundDb = f.overBackgroundDb;
    applyClassifier(e, f.nearEnd, this.classifier, interruptible, this.policy.isPaused, this.bargeInOpts);
    for (const a of this.policy.frame({ t, durMs: VAD_FRAME_MS, prob: e.prob, echo: e.echo, overBackgroundDb: e.overBackgroundDb }, interruptible)) this.onAction(a);
  }

  private onNarrowFrame(f: NarrowFrame): void {
    if (this.ended || !this.narrowPolicy || f.index < this.narrowFrom) return;
    const t = Math.round((f.index + 1) * VAD_FRAME_MS);
    for (const a of this.narrowPolicy.frame({ t, durMs: VAD_FRAME_MS, prob: f.prob, echo: f.echo }, false)) {
      if (a.type === 'speech_started' || a.type === 'speech_ended') for (const l of this.listeners) l.narrowSpeech?.(a);
    }
  }

  private onAction(a: BargeInAction): void {
    for (const l of this.listeners) l.speech?.(a);
    switch (a.type) {
      case 'speech_started':
        this.emitAt(a.t, { type: 'speech_started', onsetT: a.onsetT });
        break;
      case 'speech_ended':
        this.emitAt(a.t, { type: 'speech_ended', startT: a.startT });
        break;
      case 'pause': {
        const cur = this.playout.current;
        if (!cur || !cur.interruptible) return;
        // Our own voice under line noise can escape the first echo search: look once more before trusting this.
        this.listen.recheck();
        this.pauseT = a.t;
        this.markDecision(cur.promptId);
        metrics.bargeInPauses.inc();
        metrics.pauseLatencySeconds.observe((a.t - a.onsetT) / 1000);
        this.decidedAt(a.t, () => this.playout.pause());
        break;
      }
      case 'resume':
        metrics.bargeInResumes.inc();
        this.decisionPrompt = null;
        this.latency.falsePause();
        this.decidedAt(a.t, () => this.playout.resume());
        break;
      case 'commit': {
        const cur = this.playout.current;
        if (!cur) return;
        metrics.bargeIns.inc();
        metrics.commitLatencySeconds.observe((a.t - a.onsetT) / 1000);
        this.log.debug({ onsetT: a.onsetT, t: a.t, voicedMs: a.voicedMs, reason: a.reason }, 'barge-in committed');
        const playedMs = this.playout.playedMs();
        this.markDecision(cur.promptId);
        this.latency.bargeIn({ promptId: cur.promptId, onsetT: a.onsetT, pauseT: this.pauseT || a.t, commitT: a.t });
        this.emitAt(a.t, { type: 'barge_in', promptId: cur.promptId, playedMs, onsetT: a.onsetT });
        this.sink.clearAudio?.(cur.promptId);
        this.decidedAt(a.t, () => this.playout.cancel('barge_in', true));
        // The client drops what it had buffered: that audio will not echo back.
        this.listen.truncateReference(this.samples16k);
        this.pauseT = 0;
        break;
      }
    }
  }

  /** Runs `fn` so that the playout events it causes carry the inbound time of the VAD frame that decided them. */
  private decidedAt(t: number, fn: () => void): void {
    this.emitT = t;
    try {
      fn();
    } finally {
      this.emitT = -1;
    }
  }

  private markDecision(promptId: string): void {
    this.decisionWall = performance.now();
    this.decisionPrompt = promptId;
  }

  // --- outbound ------------------------------------------------------------------------------------------------

  /** Queues prompt audio at the call's rate. */
  play(p: PromptAudio): void {
    if (this.ended) return;
    this.requested.set(p.promptId, performance.now());
    this.playout.enqueue(p);
    // Start now rather than on the next pacer tick: the first frame's latency is part of the budget.
    this.svc.pacer.tickOne(this.playout);
  }

  stopPrompt(reason = 'stop_prompt'): void {
    this.playout.cancel(reason, true);
    this.policy.clearPrompt();
    this.listen.truncateReference(this.samples16k);
  }

  private onPromptFrame(bytes: Uint8Array, pcm: Int16Array, p: PromptAudio, playAt: number, offsetMs: number, at: number): boolean {
    const now = performance.now();
    if (offsetMs === 0) {
      const req = this.requested.get(p.promptId);
      if (req !== undefined) {
        const dt = now - req;
        this.latency.firstAudio(dt);
        metrics.promptFirstAudioSeconds.observe({ source: 'play' }, dt / 1000);
        this.requested.delete(p.promptId);
      }
    }
    this.addReference(pcm, playAt, now, 0, p, at);
    if (this.decisionPrompt === p.promptId && this.decisionWall) {
      this.latency.stopAfterDecision(now - this.decisionWall);
    }
    return this.sink.sendAudio(bytes, { promptId: p.promptId, offsetMs });
  }

  /**
   * Places audio the far end will play at `playAt` (wall ms) on the inbound timeline, for the echo canceller. `at`
   * ≥ 0: `pcm` is `p.pcm` from sample `at`, so a narrowband call takes it from the prompt's one conversion.
   */
  private addReference(pcm: Int16Array, playAt: number, now: number, path: EchoPath, p: PromptAudio, at: number): void {
    const m = this.refMap[path];
    if (this.clockOffset === -Infinity) this.clockOffset = this.samples16k - (now * MODEL_RATE) / 1000;
    if (Math.abs(playAt - m.nextPlayAt) > 1) {
      // A gap in this path's schedule (new prompt, resume): its resampler must not smear old audio into the new.
      m.resampler?.reset();
      // The mapping may move only when nothing scheduled is still playing on any path: a jump while the echo path
      // is locked would look to the canceller like the line's delay changing. Judged by the playout schedule, not
      // by wall-clock gaps, so a stalled event loop cannot split a stretch in two.
      if (!this.refMap.some((o) => o.nextPlayAt > playAt - 100)) this.mapOffset = this.clockOffset;
    }
    m.nextPlayAt = playAt + (pcm.length / this.format.sampleRate) * 1000;
    const start = Math.round((playAt * MODEL_RATE) / 1000 + this.mapOffset);
    if (!m.resampler) this.listen.addReferencePcm16(start, pcm, path);
    else if (at >= 0) {
      this.listen.addReference(start, promptReference(p.pcm, this.format.sampleRate, MODEL_RATE, at, at + pcm.length), path);
      m.skipped = true;
    } else {
      // The resampler did not see the frames taken from the prompt's conversion: start it afresh, as after a gap.
      if (m.skipped) m.resampler.reset();
      m.skipped = false;
      this.listen.addReference(start, m.resampler.processInt16(pcm), path);
    }
  }

  private onPromptFinished(p: PromptAudio, interrupted: boolean, playedMs: number, reason: string): void {
    this.prompts.push({ promptId: p.promptId, playedMs, interrupted, reason });
    if (this.decisionPrompt === p.promptId) {
      metrics.stopSeconds.observe(Math.max(0, this.playout.lastFrameSentAt - this.decisionWall) / 1000);
      this.decisionPrompt = null;
    }
    this.policy.clearPrompt();
    this.emit({ type: 'prompt_finished', promptId: p.promptId, interrupted, playedMs, reason });
    for (const l of this.listeners) l.promptFinished?.(p, interrupted);
  }

  // --- events --------------------------------------------------------------------------------------------------

  private emitT = -1;

  private observers: ((ev: CallEvent) => void)[] = [];

  /** Sees every VAD frame of this call while set (the monitor's live plot); returns the function that unsets it. */
  tapFrames(fn: (f: FrameSample) => void): () => void {
    this.frameTaps.add(fn);
    return () => this.frameTaps.delete(fn);
  }

  /** Sees every event this call sends to its client (scripts, SSE, call records). */
  observe(fn: (ev: CallEvent) => void): () => void {
    this.observers.push(fn);
    return () => (this.observers = this.observers.filter((o) => o !== fn));
  }

  emit(ev: UntimedEvent): void {
    const t = ev.t ?? (this.emitT >= 0 ? this.emitT : this.t);
    const full = { ...ev, t } as CallEvent;
    this.sink.sendEvent(full);
    for (const o of this.observers) {
      try {
        o(full);
      } catch (e) {
        this.log.error({ err: e, event: full.type }, 'call observer failed');
      }
    }
  }

  private emitAt(t: number, ev: UntimedEvent): void {
    this.emit({ ...ev, t });
  }

  /** Ends this call with an error event; other calls are unaffected. `detail`: for the log line only, not the client. */
  fail(code: string, message: string, closeCode = 1011, detail?: Record<string, unknown>): void {
    if (this.ended) return;
    metrics.errors.inc({ code });
    this.log.warn({ code, ...detail }, message);
    this.emit({ type: 'error', code, message });
    void this.end(code, closeCode);
  }

  async end(reason: string, closeCode = 1000): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    this.playout.cancel(reason === 'hangup' ? 'hangup' : reason, true);
    this.svc.pacer.remove(this.playout);
    this.listen.close();
    for (const l of this.listeners) {
      try {
        await l.close?.();
      } catch (e) {
        this.log.error({ err: e }, 'listener close failed');
      }
    }
    this.emit({ type: 'call_summary', ...this.summary(reason) });
    metrics.activeCalls.dec({ wire: this.init.wire });
    metrics.callsTotal.inc({ wire: this.init.wire, outcome: reason });
    this.log.info({ reason, durationMs: this.t }, 'call ended');
    this.sink.close(closeCode, reason);
    this.svc.ended?.(this);
  }

  summary(reason: string): Omit<EventOf<'call_summary'>, 'type' | 't'> {
    return {
      callId: this.id,
      reason,
      inboundMs: this.t,
      wallMs: Date.now() - this.startedAt,
      echo: { locked: this.listen.locked, delayMs: this.listen.delaySamples >= 0 ? this.listen.delaySamples / 16 : null },
      prompts: this.prompts,
      ...this.latency.report(),
    };
  }
}

/** Peak of a pcm16 frame in dBFS (floor −96). */
function peakDbfs(pcm: Int16Array): number {
  let peak = 0;
  for (let i = 0; i < pcm.length; i++) {
    const v = pcm[i] < 0 ? -pcm[i] : pcm[i];
    if (v > peak) peak = v;
  }
  return peak ? Math.max(-96, 20 * Math.log10(peak / 32768)) : -96;
}
