// Scenarios from any corpus that follows ../shared/audio/labels.jsonl. Audio is decoded and cut into 20 ms wire
// frames once, up front, so the load generator only copies buffers while it runs.
import { readFileSync, existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { readWav } from '../gateway/audio/wav.js';
import { encode, type Encoding } from '../gateway/audio/codec.js';

export const FRAME_MS = 20;

/** One line of a corpus's labels.jsonl (the format of ../shared/audio): the bench, the consent eval and the tests
 * all read it through `readLabels`. Fields beyond these are kept (`[k: string]: unknown`). */
export interface Label {
  file: string;
  twin8k: string;
  kind: string;
  variant?: string;
  lang: 'zh' | 'en' | null;
  text: string | null;
  pinyin?: string | null;
  expected: string | null;
  speechOnsetMs: number | null;
  speechEndMs: number | null;
  durationMs: number;
  promptFile?: string;
  promptTwin8k?: string;
  promptLang?: 'zh' | 'en';
  echo?: { delayMs: number; attenuationDb: number; echoSpeechOnsetMs?: number; echoSpeechEndMs?: number } | null;
  natural?: string;
  [k: string]: unknown;
}

export type ScenarioKind = 'bargein' | 'consent';
export const NO_BARGE_IN_KINDS = new Set(['echo_only', 'backchannel', 'cough', 'click']);

export interface Scenario {
  id: string; // file name without folder, e.g. s01_caller
  kind: ScenarioKind;
  labelKind: string; // barge_in, echo_only, consent, …
  expected: string | null;
  onsetMs: number | null;
  endMs: number | null;
  lang: 'zh' | 'en';
  hasEcho: boolean;
  callerFrames: Uint8Array[];
  callerMs: number;
  /**
   * `base64` null: the gateway plays the recorded prompt uploaded as `id` (`--prompts library`); `file` is the
   * corpus file that upload sends (the 8 kHz twin for 8k runs, so the far end hears exactly what it echoes).
   */
  prompt: { id: string; base64: string | null; ms: number; file: string } | null;
}

/** How the bench hands prompts to the gateway: uploaded once and played by id, or as base64 in every `play`. */
export type PromptSource = 'library' | 'inline';

export interface WireAudio {
  encoding: Encoding;
  sampleRate: 8000 | 16000;
}

export function wireAudioFor(rate: 8000 | 16000): WireAudio {
  // The 8 kHz twins are μ-law, the telephony case; 16 kHz is the wideband pcm16 case.
  return rate === 8000 ? { encoding: 'mulaw', sampleRate: 8000 } : { encoding: 'pcm16', sampleRate: 16000 };
}

export function readLabels(dir: string): Label[] {
  const p = join(dir, 'labels.jsonl');
  if (!existsSync(p)) throw new Error(`--scenarios ${dir}: no labels.jsonl there`);
  return readFileSync(p, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l, i) => {
      try {
        return JSON.parse(l) as Label;
      } catch {
        throw new Error(`${p}:${i + 1}: not JSON`);
      }
    });
}

function loadPcm(dir: string, file: string, twin: string | undefined, audio: WireAudio): Int16Array {
  const path = join(dir, audio.sampleRate === 8000 ? (twin ?? file) : file);
  const clip = readWav(path);
  if (clip.sampleRate !== audio.sampleRate) {
    throw new Error(`${path}: ${clip.sampleRate} Hz, expected ${audio.sampleRate} Hz (8k runs need the 8k twins)`);
  }
  return clip.samples;
}

export function toFrames(samples: Int16Array, audio: WireAudio): Uint8Array[] {
  const per = (audio.sampleRate * FRAME_MS) / 1000;
  const frames: Uint8Array[] = [];
  for (let i = 0; i < samples.length; i += per) {
    const chunk = new Int16Array(per); // last frame zero-padded: every wire frame is a whole 20 ms
    chunk.set(samples.subarray(i, Math.min(samples.length, i + per)));
    frames.push(encode(audio.encoding, chunk));
  }
  return frames;
}

export function loadScenarios(
  dir: string,
  mix: readonly ScenarioKind[],
  audio: WireAudio,
  /** Path inside `dir`, like every file in labels.jsonl. */
  consentPrompt: string | null,
  prompts: PromptSource = 'library',
): Scenario[] {
  const labels = readLabels(dir);
  const promptCache = new Map<string, Scenario['prompt']>();
  const prompt = (file: string, twin?: string): Scenario['prompt'] => {
    const key = `${file}|${twin}`;
    let p = promptCache.get(key);
    if (!p) {
      const pcm = loadPcm(dir, file, twin, audio);
      const source = audio.sampleRate === 8000 ? (twin ?? file) : file;
      p = {
        // Namespaced: against a long-running gateway (--url) the bench's uploads must not clash with real prompts.
        id: `bench.${basename(file, '.wav')}.${audio.sampleRate}`,
        base64: prompts === 'inline' ? Buffer.from(encode(audio.encoding, pcm)).toString('base64') : null,
        ms: (pcm.length * 1000) / audio.sampleRate,
        file: source,
      };
      promptCache.set(key, p);
    }
    return p;
  };
  const out: Scenario[] = [];
  for (const l of labels) {
    const isBargein = !!l.promptFile && (l.kind === 'barge_in' || NO_BARGE_IN_KINDS.has(l.kind));
    const isConsent = l.kind === 'consent' && !!l.expected;
    const kind: ScenarioKind | null = isBargein ? 'bargein' : isConsent ? 'consent' : null;
    if (!kind || !mix.includes(kind)) continue;
    const pcm = loadPcm(dir, l.file, l.twin8k, audio);
    let p: Scenario['prompt'] = null;
    if (kind === 'bargein') p = prompt(l.promptFile!, l.promptTwin8k);
    else if (consentPrompt) {
      const twin = join(dirname(consentPrompt), '8k', basename(consentPrompt));
      p = prompt(consentPrompt, twin);
    }
    out.push({
      id: l.file.replace(/\.wav$/, ''),
      kind,
      labelKind: l.kind,
      expected: l.expected,
      onsetMs: l.speechOnsetMs,
      endMs: l.speechEndMs,
      lang: l.lang ?? l.promptLang ?? 'zh',
      hasEcho: !!l.echo,
      callerFrames: toFrames(pcm, audio),
      callerMs: (pcm.length * 1000) / audio.sampleRate,
      prompt: p,
    });
  }
  if (out.length === 0) throw new Error(`--scenarios ${dir}: no ${mix.join('/')} scenarios in labels.jsonl`);
  return out;
}

/** Deterministic shuffle (mulberry32) so two runs with the same seed replay the same call mix. */
export function shuffled<T>(items: readonly T[], seed: number): T[] {
  let a = seed >>> 0;
  const rnd = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}
