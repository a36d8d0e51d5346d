// Renders one planned scenario into its caller track (16 kHz pcm16 and the 8 kHz μ-law twin) and its label line.
// The caller track is what comes back from the line while the bot's prompt plays, t = 0 at the start of prompt
// playback: a noise floor, the prompt's echo through a dispersive hybrid-like path, the callee (or a backchannel,
// an event, nobody), background noise at a set SNR, and optionally a G.711 leg with packet loss.
import { encode } from '../../gateway/audio/codec.js';
import { resampleAll } from '../../gateway/audio/resampler.js';
import { wsola } from '../../gateway/speak/tts/wsola.js';
import {
  addAt, bandpass, brown, carNoise, clicks, convolve, cough, db, dtmf, fade, fromDb, g711Leg, hiss, hum, hybridIr,
  laugh, ms, peak, peakIndex, rms, rmsOver, roomIr, scale, SR,
} from './dsp.js';
import { GENERATOR_VERSION, type Spec } from './plan.js';
import { Rng } from './rng.js';
import { extents, type Inventory, type SpeechItem } from './sources.js';

export interface PromptClip {
  id: string;
  file: string;
  twin8k: string;
  audio: Float32Array;
  lang: 'zh' | 'en';
  text: string;
  speechOnsetMs: number;
  speechEndMs: number;
}

export interface Rendered {
  pcm16: Int16Array;
  mulaw8: Uint8Array;
  label: Record<string, unknown>;
}

const r1 = (x: number) => Math.round(x * 10) / 10;
const toMs = (samples: number) => Math.round((samples * 1000) / SR);

/** The speech the callee produces: the clip, or a backchannel unit said `repeats` times at conversational pace. */
function callerSpeech(spec: Spec, rng: Rng): { audio: Float32Array; segments: [number, number][]; text: string; tempo: number[] } {
  const it = spec.item!;
  if (spec.kind !== 'backchannel') return { audio: it.audio, segments: it.segments, text: it.text, tempo: [] };
  const [a, b] = [it.segments[0][0], it.segments[it.segments.length - 1][1]];
  const core = it.audio.slice(Math.max(0, a - ms(10)), Math.min(it.audio.length, b + ms(10)));
  const units: Float32Array[] = [];
  const gaps: number[] = [];
  const tempo: number[] = [];
  for (let k = 0; k < spec.repeats; k++) {
    // Dictionary recordings are slow (对 of 0.3–0.9 s); a backchannel syllable is 150–300 ms when repeated and up to
    // ~450 ms alone. Only ever shortened, never stretched.
    const target = spec.repeats === 1 ? rng.uniform(220, 450) : rng.uniform(150, 300) * (k === spec.repeats - 1 ? 1.2 : 1);
    const want = Math.round(Math.min(core.length, ms(target * it.syllables)));
    const unit: Float32Array = want < core.length * 0.95 ? fade(wsola(core, want, SR), ms(8)) : core;
    tempo.push(r1(core.length / unit.length));
    units.push(unit);
    if (k < spec.repeats - 1) gaps.push(ms(rng.uniform(20, 110)));
  }
  const audio = new Float32Array(ms(20) + units.reduce((s, u) => s + u.length, 0) + gaps.reduce((s, g) => s + g, 0));
  const segments: [number, number][] = [];
  let o = ms(10);
  units.forEach((u, k) => {
    audio.set(u, o);
    const [ua, ub] = extents(u);
    segments.push([o + ua, o + ub]);
    o += u.length + (gaps[k] ?? 0);
  });
  return { audio, segments, text: it.text.repeat(spec.repeats), tempo };
}

/** Speech of other people in the same half (never the caller's speaker): clips end to end with short pauses. */
function talkerStream(rng: Rng, inv: Inventory, spec: Spec, n: number, preferLong: boolean): Float32Array {
  const pool = inv.bySplit(spec.split).filter((i) => i.speaker !== spec.item?.speaker && i.lang === 'zh');
  const long = pool.filter((i) => i.use === 'long');
  const out = new Float32Array(n);
  let at = -rng.int(0, ms(1500));
  while (at < n) {
    const it: SpeechItem = rng.pick(preferLong && long.length && rng.next() < 0.8 ? long : pool);
    const g = fromDb(rng.uniform(-3, 3)) / (rmsOver(it.audio, it.segments) || 1);
    addAt(out, it.audio, at, g);
    at += it.audio.length + ms(rng.uniform(60, 400));
  }
  return out;
}

function noiseSignal(spec: Spec, rng: Rng, inv: Inventory, n: number): { x: Float32Array; info: Record<string, unknown> } {
  switch (spec.noise) {
    case 'babble': {
      const talkers = rng.int(4, 7);
      const x = new Float32Array(n);
      for (let k = 0; k < talkers; k++) addAt(x, talkerStream(rng, inv, spec, n, false), 0);
      return { x, info: { talkers } };
    }
    case 'tv': {
      // Distant TV: one or two voices, the set's loudspeaker band, the room's reverberation.
      const voices = rng.int(1, 2);
      const dry = new Float32Array(n);
      for (let k = 0; k < voices; k++) addAt(dry, talkerStream(rng, inv, spec, n, true), 0);
      const lowpassHz = Math.round(rng.uniform(2500, 4500));
      const rt60 = Math.round(rng.uniform(0.3, 0.9) * 100) / 100;
      const x = convolve(bandpass(dry, 150, lowpassHz, 2), roomIr(rng, rt60));
      return { x, info: { voices, lowpassHz, rt60S: rt60 } };
    }
    case 'car':
      return { x: carNoise(rng, n), info: {} };
    case 'hum': {
      const mainsHz = rng.next() < 0.5 ? 50 : 60;
      return { x: hum(rng, n, mainsHz), info: { mainsHz } };
    }
    case 'hiss':
      return { x: hiss(rng, n), info: {} };
    default:
      throw new Error(`no noise ${spec.noise}`);
  }
}

/** Speech extents of a prompt frame-by-frame: where the echo is loud (for double talk). */
function loudPromptTimes(p: PromptClip, fromMs: number, toMs_: number): number[] {
  const hop = ms(20);
  const es: number[] = [];
  for (let i = 0; i + hop <= p.audio.length; i += hop) es.push(rms(p.audio, i, i + hop));
  const voiced = es.filter((e) => e > 0.003).sort((a, b) => a - b);
  const thr = voiced[Math.floor(voiced.length * 0.5)] ?? 0;
  const out: number[] = [];
  for (let k = 0; k < es.length; k++) if (es[k] >= thr && k * 20 >= fromMs && k * 20 <= toMs_) out.push(k * 20);
  return out;
}

function echoPath(spec: Spec, rng: Rng, prompt: Float32Array, n: number, erlDb: number, delayMs: number, dispersionMs: number, promptRef: number) {
  const h = hybridIr(rng, dispersionMs);
  const full = new Float32Array(n);
  addAt(full, convolve(prompt, h), ms(delayMs));
  // ERL: the prompt's speech level over the echo's, both measured over the prompt's speech (shifted by the delay).
  const e = rms(full, ms(delayMs), ms(delayMs) + prompt.length);
  const g = e > 0 ? (promptRef * fromDb(-erlDb)) / e : 0;
  return { x: scale(full, g), peakDelayMs: r1(delayMs + (peakIndex(h) * 1000) / SR) };
}

export function render(spec: Spec, seed: number, prompts: Map<string, PromptClip>, inv: Inventory): Rendered {
  const rng = Rng.derive(seed, 'scenario', spec.index);
  const p = prompts.get(spec.prompt)!;
  const promptMs = toMs(p.audio.length);
  const L = spec.levelDbfs;
  const conditions: string[] = [];

  // When the callee (or the event) starts: while the prompt still talks, at least 0.6 s in.
  const earliest = 600, latest = Math.max(earliest + 200, Math.min(p.speechEndMs - 800, 4500));
  let onsetMs = Math.round(rng.uniform(earliest, latest));
  if (spec.doubleTalk) {
    const loud = loudPromptTimes(p, earliest + spec.delayMs, latest + spec.delayMs);
    if (loud.length) onsetMs = rng.pick(loud);
  }

  const speech = spec.item ? callerSpeech(spec, rng) : null;
  const speechLenMs = speech ? toMs(speech.segments[speech.segments.length - 1][1] - speech.segments[0][0]) : 0;
  const durationMs = Math.ceil(Math.max(promptMs + 1000, onsetMs + speechLenMs + 600) / 20) * 20;
  const n = ms(durationMs);
  const y = new Float32Array(n);

  const floorDbfs = r1(rng.uniform(-65, -55));
  const fl = brown(rng, n);
  addAt(y, scale(fl, fromDb(floorDbfs) / (rms(fl) || 1)), 0);

  // Echo of the prompt.
  let echo: Record<string, unknown> | null = null;
  if (spec.echo !== 'none') {
    const promptRef = rms(p.audio, ms(p.speechOnsetMs), ms(p.speechEndMs));
    const e1 = echoPath(spec, rng, p.audio, n, spec.erlDb, spec.delayMs, spec.dispersionMs, promptRef);
    let change: Record<string, unknown> | null = null;
    if (spec.change) {
      const c = spec.change;
      const e2 = echoPath(spec, rng, p.audio, n, c.erlDb, c.delayMs, c.dispersionMs, promptRef);
      const at = ms(p.speechOnsetMs + c.atFraction * (p.speechEndMs - p.speechOnsetMs));
      const xf = ms(20);
      for (let i = 0; i < n; i++) {
        const w = i < at ? 0 : i >= at + xf ? 1 : (i - at) / xf;
        y[i] += e1.x[i] * (1 - w) + e2.x[i] * w;
      }
      change = { atMs: toMs(at), delayMs: c.delayMs, dispersionMs: c.dispersionMs, erlDb: c.erlDb, attenuationDb: c.erlDb, peakDelayMs: e2.peakDelayMs };
      conditions.push('echo_change');
    } else addAt(y, e1.x, 0);
    echo = {
      model: 'hybrid-dispersive', delayMs: spec.delayMs, dispersionMs: spec.dispersionMs, erlDb: spec.erlDb, attenuationDb: spec.erlDb,
      peakDelayMs: e1.peakDelayMs, echoSpeechOnsetMs: p.speechOnsetMs + spec.delayMs, echoSpeechEndMs: p.speechEndMs + spec.delayMs, change,
    };
    conditions.push('echo');
    if (Math.min(spec.erlDb, spec.change?.erlDb ?? 99) < 12) conditions.push('erl_low');
  }

  // The callee.
  let callerSegments: { startMs: number; endMs: number }[] | null = null;
  let callerLevel: number | null = null;
  let speechOnsetMs: number | null = null, speechEndMs: number | null = null;
  if (speech) {
    const level = rmsOver(speech.audio, speech.segments);
    let g = fromDb(L) / (level || 1);
    const pk = peak(speech.audio) * g;
    if (pk > fromDb(-1)) g *= fromDb(-1) / pk; // peaks limited to −1 dBFS, so the loudest callers end a little lower
    const at = ms(onsetMs) - speech.segments[0][0];
    addAt(y, speech.audio, at, g);
    callerLevel = r1(db(level * g));
    callerSegments = speech.segments.map(([a, b]) => ({ startMs: toMs(at + a), endMs: toMs(at + b) }));
    speechOnsetMs = callerSegments[0].startMs;
    speechEndMs = callerSegments[callerSegments.length - 1].endMs;
    if (spec.doubleTalk) conditions.push('double_talk');
    if (callerLevel <= -32) conditions.push('level_quiet');
    if (callerLevel >= -20) conditions.push('level_loud');
  }

  // A non-speech event from the callee's side.
  let event: Record<string, unknown> | null = null;
  if (['cough', 'laugh', 'click', 'dtmf'].includes(spec.kind)) {
    let ev: { audio: Float32Array; bursts: [number, number][] };
    let levelDbfs: number;
    let digits: string | undefined;
    if (spec.kind === 'cough') (ev = cough(rng)), (levelDbfs = L + rng.uniform(0, 10));
    else if (spec.kind === 'laugh') (ev = laugh(rng)), (levelDbfs = L + rng.uniform(-6, 3));
    else if (spec.kind === 'dtmf') {
      digits = Array.from({ length: rng.int(1, 4) }, () => rng.pick([...'0123456789*#'])).join('');
      ev = dtmf(rng, digits);
      levelDbfs = rng.uniform(-28, -12);
    } else (ev = clicks(rng)), (levelDbfs = rng.uniform(-30, -6) - 6);
    const lvl = rmsOver(ev.audio, ev.bursts);
    let g = fromDb(levelDbfs) / (lvl || 1);
    if (peak(ev.audio) * g > fromDb(-1)) g = fromDb(-1) / peak(ev.audio);
    const at = ms(onsetMs);
    addAt(y, ev.audio, at, g);
    const bursts = ev.bursts.map(([a, b]) => ({ startMs: toMs(at + a), endMs: toMs(at + b) }));
    event = {
      type: spec.kind, eventOnsetMs: bursts[0].startMs, eventEndMs: bursts[bursts.length - 1].endMs, bursts,
      levelDbfs: r1(db(lvl * g)), peakDbfs: r1(db(peak(ev.audio) * g)), ...(digits ? { digits } : {}),
    };
  }

  // Background noise, at `snrDb` under the caller's level (or under the level a caller would have had).
  let noise: Record<string, unknown> | null = null;
  if (spec.noise !== 'none') {
    const nz = noiseSignal(spec, rng, inv, n);
    const levelDbfs = (callerLevel ?? L) - spec.snrDb;
    addAt(y, nz.x, 0, fromDb(levelDbfs) / (rms(nz.x) || 1));
    noise = { type: spec.noise, snrDb: spec.snrDb, levelDbfs: r1(levelDbfs), ...nz.info };
    conditions.push(`noise_${spec.noise}`);
    if (spec.snrDb < 8) conditions.push('snr_low');
  }

  // The line: a G.711 leg with packet loss (both twins carry it), or the plain 16 kHz mix and its μ-law twin.
  let line: Record<string, unknown> | null = null;
  let pcm16: Int16Array;
  let pcm8: Int16Array;
  if (spec.line !== 'none') {
    const leg = g711Leg(rng, y, spec.lossPct, spec.line === 'loss_plc');
    pcm8 = leg.pcm8;
    const up = resampleAll(Float32Array.from(pcm8, (v) => v / 32768), 8000, 16000);
    pcm16 = toInt16(up, n);
    line = { codec: 'g711-mulaw', lossPct: spec.lossPct, concealment: spec.line === 'loss_plc', lostPacketsMs: leg.lost.map((k) => k * 20) };
    conditions.push(spec.line === 'loss_plc' ? 'g711_loss_plc' : 'g711_loss');
  } else {
    pcm16 = toInt16(y, n);
    pcm8 = toInt16(resampleAll(y, 16000, 8000), n / 2);
  }
  if (!conditions.some((c) => c === 'echo' || c.startsWith('noise_') || c.startsWith('g711'))) conditions.push('clean');
  const clipped = pcm16.reduce((k, v) => k + (v === 32767 || v === -32768 ? 1 : 0), 0);

  const lang = spec.item?.lang ?? null;
  const label: Record<string, unknown> = {
    corpus: 'bargein-generated',
    id: spec.id,
    file: `${spec.id}.wav`,
    twin8k: `${spec.split}/8k/${spec.id.split('/')[1]}.wav`,
    durationMs,
    kind: spec.kind,
    variant: spec.variant,
    expected: spec.expected,
    split: spec.split,
    speaker: spec.item?.speaker ?? null,
    natural: spec.item?.natural ?? null,
    lang,
    text: speech?.text ?? null,
    speechOnsetMs,
    speechEndMs,
    callerSpeechSegmentsMs: callerSegments,
    callerLevelDbfs: callerLevel,
    source: spec.item?.source ?? (spec.kind === 'background_speech' || spec.kind === 'noise_only' ? 'none (background only)' : spec.kind === 'echo_only' ? 'none (echo of bot prompt only)' : 'synthetic event'),
    sourceClip: spec.item?.id ?? null,
    promptFile: p.file,
    promptTwin8k: p.twin8k,
    promptLang: p.lang,
    promptText: p.text,
    promptSpeechOnsetMs: p.speechOnsetMs,
    promptSpeechEndMs: p.speechEndMs,
    promptDurationMs: promptMs,
    alignment: 'caller file t=0 == start of prompt playback',
    conditions,
    echo,
    doubleTalk: spec.doubleTalk,
    noiseFloor: { colour: 'brown', levelDbfs: floorDbfs },
    noise,
    event,
    line,
    ...(spec.kind === 'backchannel' ? { backchannel: { unit: spec.item!.text, repeats: spec.repeats, syllables: spec.item!.syllables * spec.repeats, tempo: speech!.tempo } } : {}),
    clippedSamples: clipped,
    generator: { version: GENERATOR_VERSION, seed, index: spec.index },
    labelMethod: speech ? 'placement + the source clip\'s labelled speech segments' : 'no caller speech',
  };
  return { pcm16, mulaw8: encode('mulaw', pcm8), label };
}

function toInt16(x: Float32Array, n: number): Int16Array {
  const out = new Int16Array(n);
  for (let i = 0; i < Math.min(n, x.length); i++) {
    const v = Math.round(x[i] * 32768);
    out[i] = v > 32767 ? 32767 : v < -32768 ? -32768 : v;
  }
  return out;
}

