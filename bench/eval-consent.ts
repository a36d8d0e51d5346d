// Consent accuracy of the real pipeline on a labelled corpus: audio (16 kHz, or the 8 kHz μ-law twin upsampled as the
// gateway does) → VAD end-of-speech (silero through gateway/listen/vad) → streaming recogniser or keyword spotter in the
// ASR worker pool → ConsentClassifier. Prints the confusion matrix, per-class precision/recall, false `granted` (the
// safety number), decision latency and recogniser CPU cost.
//
// Decision latency, in audio time after the labelled speechEndMs:
//   endpointMs − speechEndMs + flushMs
// where endpointMs is the audio position at which the VAD has seen `consent.endSilenceMs` of continuous silence
// after speech (the moment the gateway calls finish()), and flushMs is the worker's wall time to decode the
// utterance's tail and produce the final. Audio is streamed faster than real time, so only the flush (which must
// happen after the endpoint in a live call too) is added as compute; decoding before the endpoint keeps up with
// real time at ~25 ms CPU per audio second. Without a VAD, the whole file is fed and endpointMs is the file end.
//
// Usage: npm run eval:consent -- <folder with labels.jsonl> [--kind consent] [--rate 16k|8k] [--model <id>]
//          [--mode recognizer|kws] [--subset natural|consent|<path prefix>] [--json]
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadConfig } from '../gateway/config.js';
import { rootLogger } from '../gateway/ops/log.js';
import { Resampler } from '../gateway/audio/resampler.js';
import { readWavFloat } from '../gateway/audio/wav.js';
import { isResolved, resolveModel } from '../gateway/models.js';
import { AsrWorkerPool, type AsrResult } from '../gateway/listen/asr/index.js';
import {
  ConsentClassifier,
  RECOMMENDED_KWS_SETTINGS,
  buildKeywords,
  keywordsFileText,
  loadLexiconFile,
  readTokenSet,
  spottedToInput,
  type ClassifierInput,
  type ConsentDecision,
  type TokenType,
} from '../gateway/listen/consent/index.js';
import { VadService, VAD_FRAME } from '../gateway/listen/vad/VadService.js';

interface Label {
  file: string;
  twin8k: string;
  kind: string;
  lang: 'zh' | 'en' | null;
  text: string | null;
  expected: ConsentDecision | null;
  speechOnsetMs: number | null;
  speechEndMs: number | null;
}

function args(argv: string[]) {
  const o = { folder: '', kind: 'consent', rate: '16k', model: '', mode: '', subset: '', json: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = () => argv[++i] ?? '';
    if (a === '--kind') o.kind = v();
    else if (a === '--rate') o.rate = v();
    else if (a === '--model') o.model = v();
    else if (a === '--mode') o.mode = v();
    else if (a === '--subset') o.subset = v();
    else if (a === '--json') o.json = true;
    else if (!a.startsWith('--')) o.folder = a;
    else throw new Error(`unknown option ${a}`);
  }
  if (!o.folder) throw new Error('usage: eval-consent <folder with labels.jsonl> [--kind consent] [--rate 16k|8k] [--model id] [--mode recognizer|kws] [--subset prefix] [--json]');
  if (o.rate !== '16k' && o.rate !== '8k') throw new Error('--rate must be 16k or 8k');
  return o;
}

function load16k(root: string, l: Label, rate: string): Float32Array {
  if (rate === '16k') return readWavFloat(join(root, l.file)).samples;
  const twin = readWavFloat(join(root, l.twin8k));
  const rs = new Resampler(twin.sampleRate, 16000);
  // 20 ms frames through the stateful resampler, as inbound telephony audio arrives.
  const parts: Float32Array[] = [];
  const step = twin.sampleRate / 50;
  for (let i = 0; i < twin.samples.length; i += step) parts.push(rs.process(twin.samples.subarray(i, i + step)));
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) out.set(p, (o += p.length) - p.length);
  return out;
}

/** Silero probabilities for every 32 ms frame of a clip, through the gateway's VAD service. */
function vadProbs(vad: VadService, samples: Float32Array): Promise<Float32Array> {
  const frames = Math.floor(samples.length / VAD_FRAME);
  const probs = new Float32Array(frames);
  return new Promise((res) => {
    let got = 0;
    const s = vad.open((r) => {
      probs[r.index] = r.prob;
      if (++got === frames) {
        s.close();
        res(probs);
      }
    });
    for (let i = 0; i < samples.length; i += 320) s.push(samples.slice(i, i + 320));
  });
}

/**
 * Endpointer over VAD frames with the gateway's defaults: speech starts at the first frame ≥ onThreshold; the
 * utterance ends once silence (< offThreshold) has lasted endSilenceMs. Returns sample positions.
 */
function endpoint(probs: Float32Array, endSilenceMs: number, total: number): { onset: number; end: number } | null {
  const on = 0.5;
  const off = 0.35;
  const frameMs = (VAD_FRAME / 16000) * 1000;
  const need = Math.ceil(endSilenceMs / frameMs);
  let onset = -1;
  let silent = 0;
  for (let i = 0; i < probs.length; i++) {
    if (onset < 0) {
      if (probs[i] >= on) onset = i;
      continue;
    }
    if (probs[i] < off) {
      if (++silent >= need) return { onset: onset * VAD_FRAME, end: (i + 1) * VAD_FRAME };
    } else silent = 0;
  }
  return onset < 0 ? null : { onset: onset * VAD_FRAME, end: total };
}

function pct(xs: number[], p: number): number {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

async function main(): Promise<void> {
  const o = args(process.argv.slice(2));
  // --json promises exactly one JSON object on stdout; pino writes there too.
  if (o.json) rootLogger.level = 'warn';
  const root = resolve(o.folder);
  const config = loadConfig(process.env, {
    asr: { ...(o.model ? { model: o.model } : {}), ...(o.mode ? { mode: o.mode } : {}) },
  });
  const model = resolveModel(config.asr.model, config.modelsDir);
  if (!isResolved(model)) throw new Error(`model ${config.asr.model} not found: ${model.missing.join(', ')}`);
  const lang = (model.entry.language ?? 'zh') as 'zh' | 'en';
  const tokenType = (model.entry.tokenType ?? 'char') as TokenType;

  const labels = readFileSync(join(root, 'labels.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as Label)
    .filter((l) => l.kind === o.kind && l.expected && l.speechEndMs !== null)
    .filter((l) => !o.subset || l.file.startsWith(o.subset.endsWith('/') || o.subset.includes('.') ? o.subset : `${o.subset}/`))
    // The recogniser speaks one language: items in another are not its job.
    .filter((l) => l.lang === lang);
  if (!labels.length) throw new Error('no items matched');

  let keywords: string | undefined;
  if (config.asr.mode === 'kws') {
    const lex = loadLexiconFile(lang, config.consent.lexiconFile);
    keywords = keywordsFileText(buildKeywords(lex, { tokens: readTokenSet(model.files.tokens) }).keywords);
  }
  const pool = await AsrWorkerPool.start({
    model: config.asr.model,
    mode: config.asr.mode,
    workers: 1,
    threads: config.asr.threads,
    modelsDir: config.modelsDir,
    keywords,
    ...(config.asr.mode === 'kws' ? RECOMMENDED_KWS_SETTINGS : {}),
  });
  const vadModel = resolveModel('silero-vad-v5', config.modelsDir);
  const vad = isResolved(vadModel)
    ? await VadService.start({ backend: 'silero-ort', modelPath: vadModel.files.model, tickMs: config.vad.tickMs, threads: 1 })
    : null;
  const classifier = new ConsentClassifier();
  const classes: ConsentDecision[] = ['granted', 'refused', 'unclear'];
  const confusion: Record<string, Record<string, number>> = Object.fromEntries(classes.map((c) => [c, Object.fromEntries(classes.map((d) => [d, 0]))]));
  const latencies: number[] = [];
  let errors = 0;
  const items: unknown[] = [];
  const preRoll = Math.round((config.asr.preRollMs / 1000) * 16000);

  for (const l of labels) {
    const audio = load16k(root, l, o.rate);
    const ep = vad ? endpoint(await vadProbs(vad, audio), config.consent.endSilenceMs, audio.length) : { onset: 0, end: audio.length };
    const from = ep ? Math.max(0, ep.onset - preRoll) : 0;
    const to = ep ? ep.end : audio.length;
    const stream = pool.open(l.file);
    const final = await new Promise<AsrResult>((res) => {
      stream.onResult((r) => r.final && res(r));
      for (let i = from; i < to; i += 320) stream.accept(audio.slice(i, Math.min(i + 320, to)));
      stream.finish();
    });
    stream.close();
    const input: ClassifierInput =
      config.asr.mode === 'kws'
        ? spottedToInput((final.hits ?? []).map((h) => ({ keyword: h.keyword, startTime: (h.startMs ?? 0) / 1000, endTime: (h.endMs ?? 0) / 1000 })))
        : { text: final.text, tokenType, language: lang };
    const decision = final.error ? { decision: 'unclear' as const, phrase: null, reason: final.error } : classifier.classify(input);
    if (final.error) errors++;
    confusion[l.expected!][decision.decision]++;
    const endpointMs = (to / 16000) * 1000;
    const latency = endpointMs - l.speechEndMs! + (final.flushMs ?? 0);
    latencies.push(latency);
    items.push({ file: l.file, text: l.text, expected: l.expected, decided: decision.decision, phrase: decision.phrase, heard: input.text, latencyMs: Math.round(latency) });
  }
  const st = pool.stats();
  await pool.close();
  await vad?.close();

  const perClass = Object.fromEntries(
    classes.map((c) => {
      const tp = confusion[c][c];
      const decided = classes.reduce((n, e) => n + confusion[e][c], 0);
      const actual = classes.reduce((n, d) => n + confusion[c][d], 0);
      return [c, { precision: decided ? tp / decided : null, recall: actual ? tp / actual : null, n: actual }];
    }),
  );
  const correct = classes.reduce((n, c) => n + confusion[c][c], 0);
  const summary = {
    folder: root,
    subset: o.subset || null,
    kind: o.kind,
    rate: o.rate,
    model: config.asr.model,
    mode: config.asr.mode,
    vad: vad ? 'silero-ort' : 'none (whole utterance)',
    endSilenceMs: config.consent.endSilenceMs,
    items: labels.length,
    accuracy: correct / labels.length,
    confusion,
    perClass,
    falseGranted: confusion.refused.granted + confusion.unclear.granted,
    latencyMs: { p50: pct(latencies, 50), p95: pct(latencies, 95) },
    asrCpuMsPerAudioSec: st.cpuMsPerAudioSec,
    asrBatching: st.perWorker[0]?.batching,
    errors,
    details: items,
  };
  if (o.json) return write(`${JSON.stringify(summary)}\n`);
  const w = (s: string | number, n = 9) => String(s).padStart(n);
  const lines = [
    `consent eval: ${labels.length} items (${o.subset || 'all'} ${o.kind}, ${o.rate}) model ${config.asr.model} [${config.asr.mode}], VAD ${summary.vad}`,
    `accuracy ${(summary.accuracy * 100).toFixed(1)}%   FALSE GRANTED: ${summary.falseGranted}`,
    `expected \\ decided ${classes.map((c) => w(c)).join('')}`,
    ...classes.map((e) => `${e.padEnd(19)}${classes.map((d) => w(confusion[e][d])).join('')}`),
    ...classes.map((c) => `${c.padEnd(8)} precision ${perClass[c].precision === null ? '  -  ' : perClass[c].precision!.toFixed(3)}  recall ${perClass[c].recall === null ? '  -  ' : perClass[c].recall!.toFixed(3)}  (n=${perClass[c].n})`),
    `decision latency after speech end (audio ms): p50 ${summary.latencyMs.p50.toFixed(0)}  p95 ${summary.latencyMs.p95.toFixed(0)}`,
    `recogniser CPU: ${st.cpuMsPerAudioSec.toFixed(1)} ms per audio second (${st.perWorker[0]?.batching})`,
  ];
  return write(`${lines.join('\n')}\n`);
}

/** Resolves once the text is flushed: process.exit() right after a large write to a pipe would truncate it. */
function write(text: string): Promise<void> {
  return new Promise((res) => process.stdout.write(text, () => res()));
}

main().then(
  () => process.exit(0),
  (e: Error) => {
    process.stderr.write(`eval-consent: ${e.message}\n`);
    process.exit(1);
  },
);
