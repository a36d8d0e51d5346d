// Offline replay of the consent recogniser. Every consent answer, at both rates, goes through the gateway's VAD
// and end-of-speech rule (bench/consent/utterances.ts) and is cut the way ConsentSession cuts an utterance (VAD
// onset − pre-roll … speech_ended, then the ASR worker's tail padding), then decoded by each recogniser variant.
// What the recogniser hears depends on where the cut falls against its chunk grid (measured: 当然 comes out dāngrán,
// dāngshǎn or dāngshān as the cut moves), and on a call that is wherever the answer happens to start against the
// 32 ms VAD frames; so every clip is replayed at several `phases` — a few ms more of its own noise floor first —
// and a variant is judged over all of them, not over the one phase a real-time run happens to hit.
//
// Where the VAD cuts an answer is not fixed either: under load a live call's frames arrive late and in bursts, and
// its cut moved against the replay's (算了 granted live as 好好好 at 8 kHz with a cut the nominal replay never made).
// `--cuts ds:de,…` replays every utterance once per pair, its start moved ds ms and its end de ms (positive: later)
// from where the VAD put them, so that a safety claim can be checked at every placement, not at one
// (bench/consent/decisions.ts counts a false grant when any placement of an answer grants it).
//
// Writes one JSON line per (item, rate, phase, cut) per variant with the hypotheses of each utterance, which
// bench/consent/decisions.ts replays through the gateway's decision code.
//
// Usage: tsx bench/consent/replay.ts <corpus dir> --variants greedy,hot1.5,kws [--out DIR] [--phases 0,8,16,24]
//          [--sets natural,espeak] [--end-silence-ms 160 (the gateway's)] [--end-threshold 0.4] [--pre-roll-ms 400] [--tail-ms 480]
//          [--cuts 0:0,-136:-72,104:88 …] [--rehear-shift-ms MS (a second hearing cut MS later; with --suffix)] [--tail-fill zeros|repeat] [--suffix @tag] [--prep ours|hq|band|mulaw|hf<dB>|fold<dB>|gain<dB>|taps<n>|pre<a>|bwe<dB> (./narrowband.ts)] [--rates 16k,8k]
//          [--vad-8k upsampled|native (an 8 kHz call's VAD: the upsampled audio at 16 kHz, the call's path; or the wire audio in Silero's 8 kHz mode)]
// (--suffix names the variant in the output, e.g. hot2@pre240, so that cuts made differently can be compared.)
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createEngine } from '../../gateway/listen/asr/backends.js';
import type { AsrEngineSpec, EngineStream } from '../../gateway/listen/asr/engine.js';
import { buildKeywords, keywordsFileText, lexiconHotwordBoosts, lexiconHotwords, loadLexiconFile, readTokenSet, RECOMMENDED_KWS_SETTINGS } from '../../gateway/listen/consent/index.js';
import { ConfigSchema } from '../../gateway/config.js';
import { ThreadCpuClock } from '../../gateway/infer/threadCpu.js';
import { isResolved, resolveModel } from '../../gateway/models.js';
import { audio16k, consentItems, wireAudio, RATES, type ConsentItem, type ConsentSet, type Rate } from './corpus.js';
import { frameProbs, loadVad, utterances, type VadUtterance } from './utterances.js';

export interface ReplayHyp {
  tokens: string[];
  logProbs?: number[];
  /** Token emission times, ms from the VAD onset (negative: inside the pre-roll). */
  timesMs?: number[];
  /** Keyword spotter: phrases, ms from the VAD onset. */
  hits?: { keyword: string; startMs?: number; endMs?: number }[];
}

export interface ReplayUtterance extends VadUtterance {
  hyp: ReplayHyp;
  /** CPU of the finish (tail padding + last decode), ms: the recogniser's share of the decision latency. */
  flushMs: number;
}

export interface ReplayLine {
  variant: string;
  file: string;
  rate: Rate;
  phase: number;
  /** The cut's start and end moved from the VAD's, ms ("ds:de"; absent: "0:0", the VAD's own). */
  cut?: string;
  /** Inbound ms of the labelled speech onset and end (phase included). */
  labelOnsetT: number;
  labelEndT: number;
  /** How the utterances were cut: speech_ended after this much trailing silence, this pre-roll, this tail padding. */
  endSilenceMs: number;
  preRollMs: number;
  tailMs: number;
  utterances: ReplayUtterance[];
}

/**
 * Named recogniser variants: greedy | beam | hot<boost>[r<refusal-side boost>[x]][p<paths>] (beam + lexicon hotwords) |
 * kws[<threshold>].
 */
export function variantSpec(name: string, base: Omit<AsrEngineSpec, 'mode' | 'dynamicBatch'>): AsrEngineSpec {
  const spec: AsrEngineSpec = { ...base, mode: 'recognizer', dynamicBatch: false };
  if (name === 'greedy') return spec;
  if (name === 'beam') return { ...spec, decoding: { method: 'beam', maxActivePaths: 4 } };
  let m = /^hot([\d.]+)(?:r([\d.]+))?(x)?(?:p(\d+))?$/.exec(name);
  if (m) {
    const paths = m[4] ? Number(m[4]) : 4;
    if (m[2]) {
      // hot<boost>r<refusal boost>[x]: the refusal side of the lexicon boosted on its own; x: without the consent
      // phrases that span a negator's place (我同意 …).
      const { hotwords, boosts } = lexiconHotwordBoosts(loadLexiconFile('zh'), base.files.tokens, Number(m[1]), Number(m[2]), { keepNegatableSpans: !m[3] });
      return { ...spec, decoding: { method: 'beam', maxActivePaths: paths, hotwords, boost: Number(m[1]), phraseBoosts: boosts } };
    }
    const hotwords = lexiconHotwords(loadLexiconFile('zh'), base.files.tokens);
    return { ...spec, decoding: { method: 'beam', maxActivePaths: paths, hotwords, boost: Number(m[1]) } };
  }
  m = /^kws([\d.]+)?$/.exec(name);
  if (m) {
    const { keywords } = buildKeywords(loadLexiconFile('zh'), { tokens: readTokenSet(base.files.tokens!) });
    return { ...spec, mode: 'kws', keywords: keywordsFileText(keywords), ...RECOMMENDED_KWS_SETTINGS, ...(m[1] ? { keywordsThreshold: Number(m[1]) } : {}) };
  }
  throw new Error(`unknown variant ${name} (greedy | beam | hot<boost>[p<paths>] | kws[<threshold>])`);
}

/** Feeds 20 ms pieces, decoding after each as the ASR worker does; returns the CPU of the finish. */
function decodeUtterance(es: EngineStream, x: Float32Array, tailMs: number, fill: 'zeros' | 'repeat', clock: ThreadCpuClock, cpu: { ms: number }): number {
  const t0 = clock.nowMs();
  for (let i = 0; i < x.length; i += 320) {
    es.accept(x.slice(i, i + 320));
    while (es.isReady()) es.decode();
  }
  const t1 = clock.nowMs();
  es.accept(tailPadding(x, Math.round(tailMs * 16), fill));
  es.inputFinished();
  while (es.isReady()) es.decode();
  const t2 = clock.nowMs();
  cpu.ms += t2 - t0;
  return t2 - t1;
}

/** The worker's tail padding: digital silence, or the utterance's own last 160 ms (line noise) repeated. */
export function tailPadding(x: Float32Array, n: number, fill: 'zeros' | 'repeat'): Float32Array {
  const pad = new Float32Array(n);
  const m = Math.min(x.length, 2560);
  if (fill === 'repeat' && m > 0) {
    const tail = x.subarray(x.length - m);
    // Back and forth through the tail, so the seams are continuous.
    for (let i = 0; i < n; i++) {
      const k = i % (2 * m);
      pad[i] = tail[k < m ? m - 1 - k : k - m]!;
    }
  }
  return pad;
}

interface Job {
  item: ConsentItem;
  rate: Rate;
  phase: number;
  cut: string;
  x: Float32Array;
  utts: VadUtterance[];
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    options: {
      variants: { type: 'string', default: 'greedy' },
      out: { type: 'string', default: 'bench/results/consent-replay' },
      phases: { type: 'string', default: '0,8,16,24' },
      sets: { type: 'string', default: 'natural,espeak' },
      'end-silence-ms': { type: 'string', default: String(ConfigSchema.parse({}).consent.endSilenceMs) },
      'end-threshold': { type: 'string', default: '0.4' },
      'pre-roll-ms': { type: 'string', default: '400' },
      'tail-ms': { type: 'string', default: '480' },
      'tail-fill': { type: 'string', default: 'zeros' },
      suffix: { type: 'string', default: '' },
      cuts: { type: 'string', default: '0:0' },
      prep: { type: 'string', default: 'ours' },
      rates: { type: 'string', default: RATES.join(',') },
      'rehear-shift-ms': { type: 'string', default: '0' },
      'vad-8k': { type: 'string', default: 'upsampled' },
    },
    allowPositionals: true,
  });
  if (!positionals[0]) throw new Error('usage: replay.ts <corpus dir> --variants greedy,hot1.5 [--out DIR] [--phases 0,8,16,24] …');
  const opt = {
    dir: positionals[0], variants: values.variants, out: values.out, prep: values.prep, phases: values.phases, sets: values.sets, suffix: values.suffix,
    endSilenceMs: Number(values['end-silence-ms']), endThreshold: Number(values['end-threshold']), preRollMs: Number(values['pre-roll-ms']),
    tailMs: Number(values['tail-ms']), fill: values['tail-fill'] as 'zeros' | 'repeat', maxUtterances: 3,
  };
  const dir = resolve(opt.dir);
  const r = resolveModel('zipformer-wenetspeech-kws-3.3m');
  if (!isResolved(r)) throw new Error('recogniser model missing');
  const base = { entry: r.entry, files: r.files, threads: 1 };
  const items = consentItems(dir, { sets: opt.sets.split(',') as ConsentSet[] });
  const phases = opt.phases.split(',').map(Number);

  // The eval streams the clip, then line silence until the decision: 3 s is more than any decision takes.
  const jobs: Job[] = [];
  // A second hearing cut elsewhere (consent.rehear.*.shiftMs): every utterance kept as the first hearing's cut keeps
  // it, its start moved this much more, so the lines stand beside the first hearing's under the same cut names.
  const rehearShiftMs = Number(values['rehear-shift-ms']);
  const cuts = values.cuts.split(',').map((c) => {
    const [ds, de] = c.split(':').map(Number);
    if (!Number.isFinite(ds) || !Number.isFinite(de)) throw new Error(`--cuts: "${c}" is not ds:de`);
    return { name: `${ds}:${de}`, ds: ds!, de: de! };
  });
  const base0: Job[] = [];
  for (const item of items) for (const rate of values.rates.split(',') as Rate[]) for (const phase of phases) base0.push({ item, rate, phase, cut: '0:0', x: audio16k(dir, item, rate, phase, 3000, opt.prep), utts: [] });
  const vad = await loadVad();
  // The VAD always hears the call's own path: a preparation changes what the recogniser hears, not where the cut falls.
  // `--vad-8k native`: an 8 kHz call's VAD scores the wire audio in Silero's own 8 kHz mode instead of the upsampled.
  const native8k = values['vad-8k'] === 'native';
  if (!native8k && values['vad-8k'] !== 'upsampled') throw new Error('--vad-8k: upsampled | native');
  const wide = base0.filter((j) => !(native8k && j.rate === '8k'));
  const narrow = base0.filter((j) => native8k && j.rate === '8k');
  const wideProbs = await frameProbs(vad, wide.map((j) => (opt.prep === 'ours' ? j.x : audio16k(dir, j.item, j.rate, j.phase, 3000))));
  const narrowProbs = narrow.length ? await frameProbs(await loadVad(8000), narrow.map((j) => wireAudio(dir, j.item, j.rate, j.phase, 3000))) : [];
  const probsOf = new Map<Job, Float32Array>([...wide.map((j, i) => [j, wideProbs[i]!] as const), ...narrow.map((j, i) => [j, narrowProbs[i]!] as const)]);
  const probs = base0.map((j) => probsOf.get(j)!);
  base0.forEach((j, i) => (j.utts = utterances(probs[i]!, { endSilenceMs: opt.endSilenceMs, endThreshold: opt.endThreshold }).slice(0, opt.maxUtterances)));
  // Every cut moves each utterance's start and end (the onset stays the VAD's: token times and the unheard lead are
  // measured from it, as ConsentSession measures them); an end moved before the start leaves the utterance out.
  for (const c of cuts) {
    for (const j of base0) {
      const utts = j.utts
        .filter((u) => u.endedT + c.de - opt.endSilenceMs > u.onsetT + c.ds - opt.preRollMs + 32)
        .map((u) => ({ onsetT: u.onsetT, endedT: u.endedT + c.de, startShiftMs: c.ds + rehearShiftMs }));
      jobs.push({ ...j, cut: c.name, utts });
    }
  }
  process.stderr.write(`${jobs.length} cuts; ${jobs.filter((j) => j.utts.length === 0).length} without an utterance, ${jobs.filter((j) => j.utts.length > 1).length} with several\n`);

  mkdirSync(opt.out, { recursive: true });
  const clock = new ThreadCpuClock();
  for (const variant of opt.variants.split(',')) {
    const engine = createEngine(variantSpec(variant, base));
    const lines: string[] = [];
    const cpu = { ms: 0 };
    let audioMs = 0;
    for (const j of jobs) {
      const out: ReplayUtterance[] = [];
      for (const u of j.utts as (VadUtterance & { startShiftMs?: number })[]) {
        const a = Math.max(0, Math.round((u.onsetT - opt.preRollMs + (u.startShiftMs ?? 0)) * 16));
        const b = Math.min(j.x.length, Math.round(u.endedT * 16));
        const seg = j.x.slice(a, b);
        const es = engine.createStream();
        const flushMs = decodeUtterance(es, seg, opt.tailMs, opt.fill, clock, cpu);
        audioMs += seg.length / 16;
        const h = es.result();
        const rel = (sec: number) => Math.round(a / 16 + sec * 1000 - u.onsetT);
        const hyp: ReplayHyp = { tokens: h.tokens };
        if (h.logProbs) hyp.logProbs = h.logProbs.map((p) => Math.round(p * 1000) / 1000);
        if (h.times) hyp.timesMs = h.times.map(rel);
        else if (h.startSec !== undefined && !h.hits) hyp.timesMs = [rel(h.startSec)];
        if (h.hits) hyp.hits = h.hits.map((k) => ({ keyword: k.keyword, startMs: k.startSec === undefined ? undefined : rel(k.startSec), endMs: k.endSec === undefined ? undefined : rel(k.endSec) }));
        out.push({ onsetT: u.onsetT, endedT: u.endedT, hyp, flushMs: Math.round(flushMs * 10) / 10 });
      }
      const line: ReplayLine = {
        variant: variant + opt.suffix, file: j.item.label.file, rate: j.rate, phase: j.phase, ...(j.cut === '0:0' ? {} : { cut: j.cut }),
        labelOnsetT: j.item.label.speechOnsetMs! + j.phase, labelEndT: j.item.label.speechEndMs! + j.phase,
        endSilenceMs: opt.endSilenceMs, preRollMs: opt.preRollMs, tailMs: opt.tailMs, utterances: out,
      };
      lines.push(JSON.stringify(line));
    }
    writeFileSync(join(opt.out, `${variant}${opt.suffix}.jsonl`), lines.join('\n') + '\n');
    process.stderr.write(`${variant}: ${lines.length} cuts, ${((cpu.ms / audioMs) * 1000).toFixed(1)} ms CPU per audio second (${engine.name})\n`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((e: Error) => {
    process.stderr.write(`replay: ${e.stack ?? e.message}\n`);
    process.exit(2);
  });
}
