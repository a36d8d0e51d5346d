// Where the VAD puts an 8 kHz answer against its 16 kHz original: for every consent item, the utterances the
// consent session would cut (onset, speech_ended, speech = ended − end silence − onset) from (a) the 16 kHz file,
// (b) the 8 kHz μ-law twin upsampled to 16 kHz by the gateway's resampler and scored by Silero at 16 kHz (what a
// call does), and (c) the same twin scored by Silero in its native 8 kHz mode (sr = 8000, 256 + 32 samples: the
// same 32 ms frame grid). Answers the question "does the 8 kHz path lose a short yes in the VAD or later?".
//
// Usage: tsx bench/consent/vadrates.ts <corpus dir> [--sets natural] [--phase 0] [--filter REGEX] [--frames]
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigSchema } from '../../gateway/config.js';
import { audio16k, consentItems, wireAudio, type ConsentSet } from './corpus.js';
import { frameProbs, loadVad, utterances, type VadUtterance } from './utterances.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { sets: { type: 'string', default: 'natural' }, phase: { type: 'string', default: '0' }, filter: { type: 'string', default: '' }, frames: { type: 'boolean', default: false } },
});
const dir = resolve(positionals[0] ?? '../shared/audio');
const phase = Number(values.phase);
const cfg = ConfigSchema.parse({}).consent;
const eos = { endSilenceMs: cfg.endSilenceMs, endThreshold: cfg.endThreshold };
const items = consentItems(dir, { sets: values.sets.split(',') as ConsentSet[] }).filter((i) => !values.filter || new RegExp(values.filter).test(i.label.file));
const vad = await loadVad();

const wide = await frameProbs(vad, items.map((i) => audio16k(dir, i, '16k', phase, 3000)));
const up = await frameProbs(vad, items.map((i) => audio16k(dir, i, '8k', phase, 3000)));
const nat = await frameProbs(await loadVad(8000), items.map((i) => wireAudio(dir, i, '8k', phase, 3000)));
const fmt = (us: VadUtterance[]) => us.map((u) => `${u.onsetT}-${u.endedT}(${u.endedT - eos.endSilenceMs - u.onsetT})`).join(' ') || '—';
const longest = (us: VadUtterance[]) => Math.max(0, ...us.map((u) => u.endedT - eos.endSilenceMs - u.onsetT));
const sum = { up: [] as number[], nat: [] as number[] };
console.log(['file', 'text', 'label', '16k', '8k↑16k', '8k native'].join('\t'));
items.forEach((it, k) => {
  const [w, u, n] = [wide[k]!, up[k]!, nat[k]!].map((p) => utterances(p, eos));
  sum.up.push(longest(u!) - longest(w!));
  sum.nat.push(longest(n!) - longest(w!));
  console.log([it.label.file.replace('natural/', ''), it.label.text, `${Number(it.label.speechOnsetMs) + phase}-${Number(it.label.speechEndMs) + phase}`, fmt(w!), fmt(u!), fmt(n!)].join('\t'));
  if (values.frames) for (const [name, p] of [['16k', wide[k]!], ['up', up[k]!], ['nat', nat[k]!]] as const) console.log(`  ${name}\t${Array.from(p as Float32Array).slice(0, 80).map((v) => Math.round(v * 9)).join('')}`);
});
const stats = (d: number[]) => { const s = [...d].sort((a, b) => a - b); return `median ${s[s.length >> 1]} ms, mean ${(d.reduce((a, b) => a + b, 0) / d.length).toFixed(1)} ms, shorter by >64 ms: ${d.filter((v) => v < -64).length}/${d.length}`; };
console.log(`longest utterance's speech, 8k↑16k − 16k: ${stats(sum.up)}`);
console.log(`longest utterance's speech, 8k native − 16k: ${stats(sum.nat)}`);
