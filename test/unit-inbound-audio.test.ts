// InboundAudio (the per-call DSP a listen worker runs) on the corpus's real echo: the prompt as reference, the
// caller file (prompt echo at the labelled delay and attenuation) as the microphone, pushed in 20 ms pieces.
import { describe, expect, it } from 'vitest';
import { int16ToFloat } from '../gateway/audio/codec.js';
import { resampleAll } from '../gateway/audio/resampler.js';
import { ConfigSchema } from '../gateway/config.js';
import { InboundAudio, type PendingFrame } from '../gateway/listen/InboundAudio.js';
import { labels, wireAudio } from './helpers/corpus.js';

const echoCfg = ConfigSchema.parse({}).echo;
const energy = (x: Float32Array) => x.reduce((a, v) => a + v * v, 0);

function run(file: string, prompt: string | null, shift = 0) {
  const a = new InboundAudio(echoCfg, true);
  const ref = prompt ? int16ToFloat(wireAudio(prompt).samples) : null;
  const mic = int16ToFloat(wireAudio(file).samples);
  const frames: PendingFrame[] = [];
  for (let i = 0; i < mic.length; i += 320) {
    // As a call does: each 20 ms of prompt is placed when it is sent, ahead of the echo it will cause.
    if (ref && i < ref.length) a.addReference(i + shift, ref.slice(i, i + 320), 0);
    a.push(mic.subarray(i, i + 320));
    frames.push(...a.takeFrames());
  }
  const residual = a.takeResidual();
  return { a, mic, frames, residual, events: a.takeEvents() };
}

const echoOnly = labels().filter((l) => l.kind === 'echo_only' && l.echo);
const erles: number[] = [];

describe('InboundAudio', () => {
  it.each(echoOnly.map((l) => [l.file, l] as const))('%s: locks on the labelled echo delay and cancels it', (_f, l) => {
    const { a, mic, frames, residual, events } = run(l.file, l.promptFile!);
    const lock = events.find((e) => e.type === 'lock');
    expect(lock).toBeDefined();
    expect(a.locked).toBe(true);
    expect(Math.abs(a.delaySamples / 16 - l.echo!.delayMs)).toBeLessThanOrEqual(2);
    // Frames come out in order, one per 512 samples, and the model state is reset exactly once: at the lock.
    expect(frames.map((f) => f.index)).toEqual(frames.map((_, i) => i));
    expect(frames.filter((f) => f.resetBefore)).toHaveLength(1);
    // Before the lock, while the prompt plays, the canceller cannot vouch for what it hears: our voice may be in it
    // (the few 'clear' frames are the prompt's own pauses, where there is little reference to fear).
    const lockFrame = frames.findIndex((f) => f.resetBefore);
    const preLock = frames.slice(Math.ceil(l.echo!.echoSpeechOnsetMs! / 32) + 2, lockFrame);
    expect(preLock.filter((f) => f.verdict === 'hard').length).toBeGreaterThanOrEqual(preLock.length * 0.8);
    // After it, over the rest of the prompt's echo: the echo is removed (line noise under the echo bounds how far).
    const from = (lockFrame + 4) * 512;
    const to = Math.round((l.echo!.echoSpeechEndMs! * 16000) / 1000);
    expect(to - from).toBeGreaterThan(16000);
    const res = new Float32Array(mic.length);
    for (const r of residual) res.set(r.samples, r.start);
    const erleDb = 10 * Math.log10(energy(mic.subarray(from, to)) / energy(res.subarray(from, to)));
    expect(erleDb).toBeGreaterThan(6);
    erles.push(erleDb);
  });

  // A narrowband call (its 8 kHz μ-law twin) is cancelled at 8 kHz: the reference comes at 16 kHz, as a call
  // places it (the 8 kHz prompt upsampled), the residual goes out at 16 kHz for the VAD.
  it.each(echoOnly.filter((l) => l.twin8k && l.promptTwin8k).map((l) => [l.twin8k!, l] as const))('%s (8 kHz): locks on the labelled delay and cancels it at 8 kHz', (_f, l) => {
    const a = new InboundAudio(echoCfg, true, false, 8000);
    const ref = resampleAll(int16ToFloat(wireAudio(l.promptTwin8k!).samples), 8000, 16000);
    const mic = int16ToFloat(wireAudio(l.twin8k!).samples);
    const frames: PendingFrame[] = [];
    for (let i = 0; i < mic.length; i += 160) {
      if (2 * i < ref.length) a.addReference(2 * i, ref.slice(2 * i, 2 * i + 320), 0);
      a.pushNarrow(mic.subarray(i, i + 160));
      frames.push(...a.takeFrames());
    }
    expect(a.position).toBe(2 * mic.length);
    expect(frames.map((f) => f.index)).toEqual(frames.map((_, i) => i));
    expect(frames.length).toBe(Math.floor((2 * mic.length) / 512));
    expect(a.locked).toBe(true);
    // ±2 ms, plus the upsampler's delay in the reference.
    expect(Math.abs(a.delaySamples / 16 - l.echo!.delayMs)).toBeLessThanOrEqual(3);
    const res = new Float32Array(2 * mic.length);
    for (const r of a.takeResidual()) res.set(r.samples.subarray(0, Math.max(0, Math.min(r.samples.length, res.length - r.start))), r.start);
    const up = resampleAll(mic, 8000, 16000);
    const lockFrame = frames.findIndex((f) => f.resetBefore);
    const from = (lockFrame + 4) * 512;
    const to = Math.round((l.echo!.echoSpeechEndMs! * 16000) / 1000);
    expect(10 * Math.log10(energy(up.subarray(from, to)) / energy(res.subarray(from, to)))).toBeGreaterThan(6);
  });

  it('takes a narrowband reference placed before the first inbound sample, at odd positions', () => {
    // A prompt starts playing before the caller's first audio arrives: its first pieces land at negative positions.
    const l = echoOnly.find((x) => x.twin8k && x.promptTwin8k)!;
    const a = new InboundAudio(echoCfg, false, false, 8000);
    const ref = resampleAll(int16ToFloat(wireAudio(l.promptTwin8k!).samples), 8000, 16000);
    const mic = int16ToFloat(wireAudio(l.twin8k!).samples);
    const lead = -1601; // 100 ms and one sample early: the echo now looks 100 ms later
    for (let i = 0; i < mic.length; i += 160) {
      if (2 * i < ref.length) a.addReference(lead + 2 * i, ref.slice(2 * i, 2 * i + 320), 0);
      a.pushNarrow(mic.subarray(i, i + 160));
      for (const f of a.takeFrames()) expect(f.samples.every(Number.isFinite)).toBe(true);
    }
    const lock = a.takeEvents().find((e) => e.type === 'lock');
    // Within the prompt's first second, as when the reference starts at 0.
    expect(lock && lock.type === 'lock' && lock.at).toBeLessThan(16000);
    expect(Math.abs(a.delaySamples / 16 - (l.echo!.delayMs + 100))).toBeLessThanOrEqual(3);
  });

  it('removes more than 12 dB of echo on average over the echo-only scenarios', () => {
    expect(erles).toHaveLength(echoOnly.length);
    expect(erles.reduce((a, b) => a + b, 0) / erles.length).toBeGreaterThan(12);
  });

  // The reference lands on the inbound timeline through a wall-clock mapping, so the echo delay is any number of
  // samples, not a multiple of the 4 kHz search grid. Echo 20 dB down under pink noise (s11) is where a delay
  // between two search lags used to be missed (10–20 % of calls), the line judged echo-free, and the echo barged in.
  it.each([0, 2, 6, 10])('finds echo under noise wherever the delay falls between search lags (reference %i samples late)', (shift) => {
    const l = labels().find((x) => x.file === 'bargein/s11_caller.wav')!;
    for (let i = 0; i < 6; i++) {
      const { a, events } = run(l.file, l.promptFile!, shift);
      const lock = events.find((e) => e.type === 'lock');
      expect(lock && lock.type === 'lock' && lock.at / 16).toBeLessThan(l.speechOnsetMs!);
      expect(Math.abs((a.delaySamples - shift) / 16 - l.echo!.delayMs)).toBeLessThanOrEqual(2);
      expect(events.some((e) => e.type === 'state' && e.state === 'absent')).toBe(false);
    }
  });

  it('passes a line with no reference through untouched and never locks', () => {
    const l = labels().find((x) => x.file === 'bargein/s01_caller.wav')!;
    const { a, mic, frames, residual, events } = run(l.file, null);
    expect(events.filter((e) => e.type === 'lock')).toHaveLength(0);
    expect(a.locked).toBe(false);
    expect(frames.every((f) => f.verdict === 'clear' && !a.isEcho(f, 0.1))).toBe(true);
    // The canceller works in 16 ms blocks: all but the last partial block has come out, unchanged.
    const done = Math.floor(mic.length / 256) * 256;
    expect(residual.reduce((n, r) => n + r.samples.length, 0)).toBe(done);
    const res = new Float32Array(done);
    for (const r of residual) res.set(r.samples, r.start);
    expect(res).toEqual(mic.subarray(0, done));
  });

  it('returns residual only while someone listens', () => {
    const l = labels().find((x) => x.file === 'bargein/s01_caller.wav')!;
    const a = new InboundAudio(echoCfg, false);
    const mic = int16ToFloat(wireAudio(l.file).samples);
    a.push(mic.subarray(0, 3200));
    expect(a.takeResidual()).toHaveLength(0);
    a.wantsResidual = true;
    a.push(mic.subarray(3200, 6400));
    // Whole 16 ms blocks: the one that straddled 3200 (3072–3328) through the one ending at 6400.
    const got = a.takeResidual();
    expect(got.reduce((n, r) => n + r.samples.length, 0)).toBe(6400 - 3072);
    expect(got[0].start).toBe(3072);
    expect(a.position).toBe(6400);
  });
});
