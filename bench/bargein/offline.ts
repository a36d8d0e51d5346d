// Barge-in scenarios faster than real time, for tuning: the caller track goes straight through the code a listen
// worker runs (InboundAudio: echo canceller and framing, then the VAD model in this thread) and the frames through
// BargeInPolicy, as Call does; no sockets, no pacing. The prompt's reference is placed where a real call places it
// for a prompt started with the caller track (inbound sample 0), once for the whole prompt — which is what the
// canceller gets until the first pause, and afterwards too through the shadow path (Playout keeps the prompt's
// original schedule while paused). What this leaves out: the pause's one-off echo re-search (`recheck`, only for
// lines judged echo-free), the resumed prompt's second schedule, and scheduling jitter. So frames do not depend on
// decisions, and are extracted once per scenario and rate; policies are then replayed over them in milliseconds.
// Numbers to report still come from the real-time eval (eval-bargein.ts); this path is for tuning on the tune half.
import { join } from 'node:path';
import { decode, encode } from '../../gateway/audio/codec.js';
import { readWav } from '../../gateway/audio/wav.js';
import { promptReference } from '../../gateway/call/PromptReference.js';
import type { Config } from '../../gateway/config.js';
import { BargeInPolicy, type BargeInAction } from '../../gateway/listen/BargeInPolicy.js';
import { BackgroundLevel } from '../../gateway/listen/BackgroundLevel.js';
import { InboundAudio } from '../../gateway/listen/InboundAudio.js';
import { N_FEATURES, NearEndFeatures } from '../../gateway/listen/nearEnd/NearEndFeatures.js';
import type { NearEndModel } from '../../gateway/listen/nearEnd/NearEndModel.js';
import { applyClassifier } from '../../gateway/listen/nearEnd/classifierFrame.js';
import { VAD_FRAME_MS, VAD_RATE, type VadModel } from '../../gateway/listen/vad/VadModel.js';
import { afterKey, isDtmfFrame, withoutDtmf } from '../../gateway/listen/DtmfTone.js';
import type { ScenarioLabel } from './labels.js';
import type { BargeinRecord, CallEvent } from './runCall.js';

/** One 32 ms frame as the listen worker sees it, with the echo gate's figures (energies over the frame). */
export interface FrameFeatures {
  prob: number;
  /** What the worker sends as `echo` (isEcho: settling, hard verdict, or soft verdict with prob < 0.85). */
  echo: boolean;
  verdict: 'hard' | 'soft' | 'clear';
  res: number;
  exp: number;
  ref: number;
  noise: number;
  excess: number;
  locked: boolean;
  /** Energy of the microphone signal over the frame (before cancellation). */
  mic: number;
  /** Energy of the linear echo estimate. */
  est: number;
  /** The frame is a DTMF key (DtmfTone), judged on the residual the VAD scored. */
  tone: boolean;
  /** Telephone-band spectral sums (EchoFrameInfo.bandRes, bandEst, bandCross, overBins, bandBins). */
  bres: number;
  best: number;
  bcross: number;
  overb: number;
  bandb: number;
  /** EchoFrameInfo.incoherent, cohDe. */
  incoh: number;
  cohde: number;
  /** EchoFrameInfo.echoFit. */
  fit: number;
}

/** Column-wise frames of one scenario at one rate. */
export interface ScenarioFrames {
  id: string;
  rate: 8000 | 16000;
  n: number;
  cols: Record<keyof FrameFeatures, number[]>;
  /**
   * Band energies per frame (PendingFrame.bands, dB to 0.01, n × 2·N_BANDS: the residual's bands, then the echo
   * estimate's), only when extracted with them.
   */
  bands?: number[];
}

const KEYS: (keyof FrameFeatures)[] = ['prob', 'echo', 'verdict', 'res', 'exp', 'ref', 'noise', 'excess', 'locked', 'mic', 'est', 'tone', 'bres', 'best', 'bcross', 'overb', 'bandb', 'incoh', 'cohde', 'fit'];
const VERDICT = { hard: 0, soft: 1, clear: 2 } as const;
const VERDICTS = ['hard', 'soft', 'clear'] as const;

export function frameAt(s: ScenarioFrames, i: number): FrameFeatures {
  const c = s.cols;
  return {
    prob: c.prob[i],
    echo: c.echo[i] === 1,
    verdict: VERDICTS[c.verdict[i]],
    res: c.res[i],
    exp: c.exp[i],
    ref: c.ref[i],
    noise: c.noise[i],
    excess: c.excess[i],
    locked: c.locked[i] === 1,
    mic: c.mic[i],
    est: c.est[i],
    tone: c.tone?.[i] === 1,
    bres: c.bres?.[i] ?? 0,
    best: c.best?.[i] ?? 0,
    bcross: c.bcross?.[i] ?? 0,
    overb: c.overb?.[i] ?? 0,
    bandb: c.bandb?.[i] ?? 0,
    incoh: c.incoh?.[i] ?? 0,
    cohde: c.cohde?.[i] ?? 0,
    fit: c.fit?.[i] ?? 0,
  };
}

/** The caller track and prompt at the run's rate, as the gateway decodes them off the wire (μ-law round trip at 8k). */
function wireSamples(root: string, l: ScenarioLabel, rate: 8000 | 16000): { caller: Int16Array; prompt: Int16Array } {
  const read = (rel: string | undefined) => {
    if (!rel) throw new Error(`${l.file}: no 8 kHz twin`);
    const c = readWav(join(root, rel));
    if (c.sampleRate !== rate) throw new Error(`${rel}: ${c.sampleRate} Hz, expected ${rate}`);
    return rate === 8000 ? decode('mulaw', encode('mulaw', c.samples)) : c.samples;
  };
  return { caller: read(rate === 8000 ? l.twin8k : l.file), prompt: read(rate === 8000 ? l.promptTwin8k : l.promptFile) };
}

/** Prompt samples [from, to) at the wire rate as the canceller's 16 kHz reference (Call's one conversion). */
function referenceChunk(prompt: Int16Array, rate: 8000 | 16000, from: number, to: number): Float32Array {
  return rate === 16000 ? Float32Array.from(prompt.subarray(from, to), (v) => v / 32768) : promptReference(prompt, 8000, 16000, from, to);
}

/**
 * Streams one scenario into `inbound` as a call does, 20 ms of caller audio at a time, yielding after each piece (the
 * caller takes its frames or residual then). The reference as Call places it: prompt frames of 20 ms at the wire
 * rate, 16 kHz pcm16 as they are, narrowband ones through the prompt's one conversion to 16 kHz (promptReference),
 * from inbound sample 0, each handed over ahead of the audio it echoes into by Playout's 40 ms lookahead (the
 * canceller keeps a table of only 4 s of reference energies: all of it at once would not be what a call sees).
 */
export function* streamScenario(root: string, l: ScenarioLabel, rate: 8000 | 16000, inbound: InboundAudio): Generator<void> {
  const { caller, prompt } = wireSamples(root, l, rate);
  const per = (rate * 20) / 1000;
  const up = 16000 / rate;
  let refPos = 0;
  for (let i = 0; i < caller.length; i += per) {
    for (; refPos < prompt.length && refPos < i + 3 * per; refPos += per) inbound.addReference(refPos * up, referenceChunk(prompt, rate, refPos, Math.min(prompt.length, refPos + per)), 0);
    const chunk = new Float32Array(per);
    for (let j = 0; j < per && i + j < caller.length; j++) chunk[j] = caller[i + j] / 32768;
    if (rate === 16000) inbound.push(chunk);
    else inbound.pushNarrow(chunk);
    yield;
  }
}

/** Runs one scenario's caller track through InboundAudio and the VAD model (slot `slot`, opened here). */
export async function extractFrames(root: string, l: ScenarioLabel, rate: 8000 | 16000, echo: Config['echo'], vad: VadModel, slot: number, withBands = false): Promise<ScenarioFrames> {
  // The shape figures are measurement only (bench/bargein/spectral.ts); they change no decision.
  const inbound = new InboundAudio({ ...echo, shapeFigures: true }, false, false, rate, null, withBands);
  const bands: number[] = [];
  vad.open(slot);
  const cols = Object.fromEntries(KEYS.map((k) => [k, [] as number[]])) as ScenarioFrames['cols'];
  const slots = Int32Array.of(slot);
  for (const _ of streamScenario(root, l, rate, inbound)) {
    for (const f of inbound.takeFrames()) {
      if (f.resetBefore) vad.reset(slot);
      const p = (await vad.score(slots, f.samples))[0];
      const t = f.info;
      cols.prob.push(p);
      cols.echo.push(inbound.isEcho(f, p) ? 1 : 0);
      cols.verdict.push(VERDICT[f.verdict]);
      cols.res.push(t.residualEnergy);
      cols.exp.push(t.expectedEcho);
      cols.ref.push(t.refEnergy);
      cols.noise.push(t.noise);
      cols.excess.push(t.excess);
      cols.locked.push(t.locked ? 1 : 0);
      cols.mic.push(t.mic);
      cols.est.push(t.echoEstimate);
      cols.tone.push(isDtmfFrame(f.samples, VAD_RATE) ? 1 : 0);
      cols.bres.push(t.bandRes);
      cols.best.push(t.bandEst);
      cols.bcross.push(t.bandCross);
      cols.overb.push(t.overBins);
      cols.bandb.push(t.bandBins);
      cols.incoh.push(t.incoherent);
      cols.cohde.push(t.cohDe);
      cols.fit.push(t.echoFit);
      if (f.bands) for (const e of f.bands) bands.push(Math.round(100 * 10 * Math.log10(e + 1e-10)) / 100);
    }
  }
  vad.close(slot);
  const id = String(l.id ?? l.file.replace(/\.wav$/, ''));
  return withBands ? { id, rate, n: cols.prob.length, cols, bands } : { id, rate, n: cols.prob.length, cols };
}

/** A barge-in decision maker over frames: BargeInPolicy, or anything built on it. */
export interface FramePolicy {
  frame(s: ScenarioFrames, i: number, interruptible: boolean): BargeInAction[];
}

/** The worker's level over the speech-like background (InboundAudio.overBackground), from the cached figures. */
export function backgroundOf(s: ScenarioFrames, prob: (i: number) => number): (i: number) => number {
  const bg = new BackgroundLevel(s.rate === 16000 ? 512 : 256);
  let next = 0;
  let last = Infinity;
  return (i) => {
    // Frames come in order, once each; the history is per scenario, like the worker's per call.
    if (i !== next) throw new Error(`frame ${i} out of order (expected ${next})`);
    next++;
    last = bg.next(s.cols.res[i], prob(i));
    return last;
  };
}

/**
 * The worker's speech probability of frame i: the VAD's, or 0 for a DTMF key it took for speech and the frames of
 * its hangover (`vad.rejectDtmf`; DtmfRejector, from the cached columns).
 */
export function probOf(s: ScenarioFrames, i: number, rejectDtmf: boolean): number {
  const p = s.cols.prob[i];
  if (!rejectDtmf) return p;
  return afterKey(i, s.cols.prob, s.cols.tone) ? 0 : withoutDtmf(p, s.cols.tone?.[i] === 1, VAD_RATE);
}

/** Today's rule: the worker's prob, echo verdict and level over the background through BargeInPolicy. */
export function basePolicy(cfg: Config): FramePolicy {
  const p = new BargeInPolicy({ ...cfg.bargeIn, endSilenceMs: cfg.consent.endSilenceMs, endThreshold: cfg.consent.endThreshold });
  let over: ((i: number) => number) | null = null;
  const dt = cfg.vad.rejectDtmf;
  return {
    frame: (s, i, interruptible) => {
      over ??= backgroundOf(s, (j) => probOf(s, j, dt));
      return p.frame({ t: Math.round((i + 1) * VAD_FRAME_MS), durMs: VAD_FRAME_MS, prob: probOf(s, i, dt), echo: s.cols.echo[i] === 1, overBackgroundDb: over(i) }, interruptible);
    },
  };
}

export interface NearEndOptions extends Omit<Config['bargeIn'], 'content' | 'nearEnd' | 'interruption'> {
  endSilenceMs: number;
  endThreshold: number;
}

export function nearEndDefaults(cfg: Config): Pick<NearEndOptions, 'endSilenceMs' | 'endThreshold'> {
  return { endSilenceMs: cfg.consent.endSilenceMs, endThreshold: cfg.consent.endThreshold };
}

/** The near-end classifier's probability in place of the VAD's and its echo flag, through BargeInPolicy. */
export function nearEndPolicy(model: NearEndModel, opts: NearEndOptions, mode: 'replace' | 'veto' = 'replace', overFloorDb = -Infinity): FramePolicy {
  const p = new BargeInPolicy(opts);
  let fx: NearEndFeatures | null = null;
  let over: ((i: number) => number) | null = null;
  const x = new Float64Array(N_FEATURES);
  const use = { kind: 'nearEnd', mode } as const;
  return {
    frame: (s, i, interruptible) => {
      fx ??= new NearEndFeatures(s.rate === 16000 ? 512 : 256);
      fx.next(frameAt(s, i), x);
      const q = model.score(x);
      over ??= backgroundOf(s, (j) => s.cols.prob[j]);
      // As Call does (classifierFrame.ts): veto, today's VAD and echo gate, but a frame the classifier doubts is not
      // speech; replace, the classifier alone.
      const e = { prob: s.cols.prob[i], echo: s.cols.echo[i] === 1, overBackgroundDb: over(i) };
      applyClassifier(e, q, use, interruptible, p.isPaused, opts);
      // Experiment: a frame must also stand this far above the call's running floor.
      if (x[9] * 10 < overFloorDb) e.prob = 0;
      return p.frame({ t: Math.round((i + 1) * VAD_FRAME_MS), durMs: VAD_FRAME_MS, ...e }, interruptible);
    },
  };
}

/**
 * Replays a policy over a scenario's frames with the prompt's state as Playout keeps it (playing, paused, cancelled
 * by a commit, finished), and records the events a client would see, for score().
 */
export function replay(s: ScenarioFrames, promptMs: number, policy: FramePolicy): BargeinRecord {
  const events: CallEvent[] = [];
  let played = 0;
  let paused = false;
  let done = false;
  for (let i = 0; i < s.n; i++) {
    const t = Math.round((i + 1) * VAD_FRAME_MS);
    if (!done && !paused) {
      played += VAD_FRAME_MS;
      if (played >= promptMs) done = true;
    }
    for (const a of policy.frame(s, i, !done)) {
      const ev = (type: string): CallEvent => ({ type, t: a.t, wall: a.t }) as CallEvent;
      if (a.type === 'pause' && !done) {
        paused = true;
        events.push(ev('prompt_paused'));
      } else if (a.type === 'resume' && paused) {
        paused = false;
        events.push(ev('prompt_resumed'));
      } else if (a.type === 'commit' && !done) {
        paused = false;
        done = true;
        events.push(ev('barge_in'));
      }
    }
  }
  events.push({ type: 'call_summary', t: s.n * VAD_FRAME_MS, wall: s.n * VAD_FRAME_MS } as CallEvent);
  return { ok: true, trackStartAt: 0, events, promptFrames: [] };
}
