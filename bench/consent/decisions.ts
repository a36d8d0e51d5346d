// Replays recorded recogniser hypotheses (bench/consent/replay.ts) through the gateway's own decision code
// (decideConsent) and scores them per set, rate and class, over every phase of the utterance cut. Fusion
// arrangements are named here: a primary recogniser variant, optional other searches as alternatives, optional
// keyword spotter beside.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigSchema } from '../../gateway/config.js';
import { ConsentClassifier } from '../../gateway/listen/consent/ConsentClassifier.js';
import { decisionFeatures, type Calibration } from '../../gateway/listen/consent/calibration.js';
import { decideConsent, type DecisionRules, type Heard, type Hypothesis } from '../../gateway/listen/consent/decide.js';
import { FRAGMENT_HOLD_MS } from '../../gateway/listen/ConsentSession.js';
import { consentItems, RATES, type ConsentItem, type ConsentSet, type Rate } from './corpus.js';
import { fmtTally, tally, type Outcome } from './folds.js';
import type { ReplayHyp, ReplayLine } from './replay.js';

export interface Arrangement {
  primary: string;
  alternatives?: string[];
  spotter?: string;
  /** Alternatives are heard only when the main hearing placed nothing (the utterance decoded again after it). */
  lazy?: boolean;
  /** Another arrangement for 8 kHz calls (`16k-arrangement|8k-arrangement`): a setting per wire rate. */
  at8k?: Arrangement;
  /** endSilenceMs: what the replay was cut with when the replay line does not say (speech_ended comes that long after the last speech frame). */
  rules: DecisionRules & { endSilenceMs: number };
}

const SHIPPED = ConfigSchema.parse({}).consent;

/** The gateway's own rules (its configuration defaults), so that a replay without overrides is what a call gets. */
export const DEFAULT_RULES: DecisionRules & { endSilenceMs: number } = {
  minGrantConfidence: SHIPPED.minGrantConfidence,
  maxUnheardLeadMs: SHIPPED.maxUnheardLeadMs,
  maxUnheardGapMs: SHIPPED.maxUnheardGapMs,
  minUnclearSpeechMs: 250,
  minGrantSpeechMs: SHIPPED.minGrantSpeechMs,
  fragmentGrants: SHIPPED.fragmentGrants,
  fragmentUnplaced: SHIPPED.fragmentUnplaced,
  unplacedHold: SHIPPED.unplacedHold,
  minGrantLogProb: SHIPPED.minGrantLogProb,
  endSilenceMs: SHIPPED.endSilenceMs,
};

/**
 * "main[+alternative…][/spotter]" (alternatives decoded beside the main one), or "main~alternative" (the answer
 * heard again only when the main hearing placed nothing), e.g. "hot1.5", "hot1.5+hot1.5@240", "hot2@320~hot2@160";
 * "wide|narrow" for one arrangement per wire rate (16 kHz | 8 kHz), e.g. "hot1.5@es160|hot2.5@es160#lead=200".
 */
export function parseArrangement(name: string, rules: Arrangement['rules']): Arrangement {
  const [heardBoth, overrides] = name.split('#');
  if (heardBoth!.includes('|')) {
    const [wide, narrow] = heardBoth!.split('|');
    const rest = overrides === undefined ? '' : `#${overrides}`;
    return { ...parseArrangement(wide! + rest, rules), at8k: parseArrangement(narrow! + rest, rules) };
  }
  const heard = heardBoth;
  const [recognisers, spotter] = heard!.split('/');
  if (overrides) rules = withRules(rules, overrides);
  const lazy = recognisers!.includes('~');
  const [primary, ...alternatives] = recognisers!.split(lazy ? '~' : '+');
  return { primary: primary!, alternatives, spotter: spotter || undefined, rules, lazy };
}

/** Rule overrides of a candidate name's `#` part: `lead=240:speech=96:lp=-2.5:match=0.8:gap=400:co=syllable:frag=listen`. */
const RULE_KEYS: Record<string, keyof DecisionRules> = { lead: 'maxUnheardLeadMs', gap: 'maxUnheardGapMs', match: 'minGrantConfidence', speech: 'minGrantSpeechMs', lp: 'minGrantLogProb', co: 'corroborate' };
const CORROBORATE = ['none', 'agree', 'syllable', 'repeats'];

export function withRules(rules: Arrangement['rules'], overrides: string): Arrangement['rules'] {
  const out = { ...rules };
  for (const kv of overrides.split(':').filter(Boolean)) {
    const [k, v] = kv.split('=');
    const key = RULE_KEYS[k!];
    if (k === 'frag' && (v === 'unclear' || v === 'listen')) {
      out.fragmentGrants = v;
      continue;
    }
    if (k === 'hold' && (v === 'fragment' || v === 'unfinished' || v === 'any')) {
      out.unplacedHold = v;
      continue;
    }
    if (k === 'fragnone' && (v === 'unclear' || v === 'listen')) {
      out.fragmentUnplaced = v;
      continue;
    }
    if (key === 'corroborate' && CORROBORATE.includes(v!)) {
      out.corroborate = v as DecisionRules['corroborate'];
      continue;
    }
    if (!key || v === undefined || Number.isNaN(Number(v))) throw new Error(`rule override "${kv}": use ${Object.keys(RULE_KEYS).join(', ')}=NUMBER`);
    (out as Record<string, unknown>)[key] = Number(v);
  }
  return out;
}

export function arrangementVariants(a: Arrangement): string[] {
  return [a.primary, ...(a.alternatives ?? []), ...(a.spotter ? [a.spotter] : []), ...(a.at8k ? arrangementVariants(a.at8k) : [])];
}

export type Replays = Map<string, Map<string, ReplayLine>>; // variant → `${file}|${rate}|${phase}` → line

export function loadReplays(dir: string, variants: string[]): Replays {
  const out: Replays = new Map();
  for (const v of new Set(variants)) {
    const m = new Map<string, ReplayLine>();
    for (const line of readFileSync(join(dir, `${v}.jsonl`), 'utf8').split('\n')) {
      if (!line.trim()) continue;
      const l = JSON.parse(line) as ReplayLine;
      m.set(`${l.file}|${l.rate}|${l.phase}|${l.cut ?? '0:0'}`, l);
    }
    out.set(v, m);
  }
  return out;
}

export function phasesOf(replays: Replays): number[] {
  const first = replays.values().next().value as Map<string, ReplayLine> | undefined;
  return [...new Set([...(first?.values() ?? [])].map((l) => l.phase))].sort((a, b) => a - b);
}

/** The cut placements the replays hold ("ds:de", the VAD's own "0:0" first). */
export function cutsOf(replays: Replays): string[] {
  const first = replays.values().next().value as Map<string, ReplayLine> | undefined;
  const cuts = [...new Set([...(first?.values() ?? [])].map((l) => l.cut ?? '0:0'))];
  return cuts.sort((a, b) => (a === '0:0' ? -1 : b === '0:0' ? 1 : a.localeCompare(b)));
}

export function toHypothesis(h: ReplayHyp): Hypothesis {
  return { text: h.tokens.join(' '), tokens: h.tokens, logProbs: h.logProbs, tokenMs: h.timesMs, leadMs: h.timesMs?.length ? h.timesMs[0]! : null };
}

export interface Decided extends Outcome {
  /** The cut placement ("ds:de"), see bench/consent/replay.ts --cuts. */
  cut: string;
  transcript: string;
  reason: string;
  confidence: number;
  /** Features of the decision, for calibration. */
  features: number[] | null;
}

const classifier = new ConsentClassifier();

/**
 * Every (item, rate, phase, cut) decided. `cuts` defaults to the VAD's own cut only ("0:0"); pass cutsOf(replays)
 * for every placement the replay holds.
 */
export function replayDecisions(items: ConsentItem[], replays: Replays, both: Arrangement, phases: number[], calibration?: Calibration, rates: readonly Rate[] = RATES, cuts: readonly string[] = ['0:0']): Decided[] {
  const out: Decided[] = [];
  for (const item of items) {
    for (const rate of rates) {
      const a = rate === '8k' && both.at8k ? both.at8k : both;
      for (const phase of phases) for (const cut of cuts) {
        const key = `${item.label.file}|${rate}|${phase}|${cut}`;
        const get = (v: string) => {
          const l = replays.get(v)?.get(key);
          if (!l) throw new Error(`no replay of ${key} for ${v}`);
          return l;
        };
        const main = get(a.primary);
        const others = (a.alternatives ?? []).map(get);
        const spotter = a.spotter ? get(a.spotter) : null;
        // latencyMs: an estimate of the decision time after the labelled end of speech (speech_ended plus every
        // decoder's finish CPU).
        let decided: Decided = { item, rate, phase, cut, decision: 'none', transcript: '', reason: 'no decision before the eval stopped', confidence: 0, latencyMs: null, features: null };
        // As ConsentSession: utterance after utterance until one decides; a provisional decision (a fragment nobody
        // could place) stands only if the next utterance has not begun within FRAGMENT_HOLD_MS of it.
        let held: { v: NonNullable<ReturnType<typeof decideConsent>>; heard: Heard; at: number; onsetT: number } | null = null;
        const decide = (v: NonNullable<ReturnType<typeof decideConsent>>, heard: Heard, at: number) => {
          // A moved cut (replay.ts --cuts) tests what is decided, not when: only the VAD's own cut has a decision time.
          const latencyMs = cut === '0:0' ? Math.round(at - main.labelEndT) : null;
          decided = { ...decided, decision: v.decision, transcript: v.transcript, reason: v.reason, confidence: v.confidence, latencyMs, features: decisionFeatures(v, heard) };
        };
        for (let u = 0; u < main.utterances.length; u++) {
          const mu = main.utterances[u]!;
          if (held && mu.onsetT >= held.at + FRAGMENT_HOLD_MS) break;
          const heard: Heard = {
            main: 'recogniser',
            hypotheses: [main, ...(a.lazy ? [] : others)].map((l) => toHypothesis(l.utterances[u]!.hyp)),
            // A moved cut's end (replay.ts --cuts) moves where the audio stops, not how long the callee spoke.
            speechMs: mu.endedT - Number(cut.split(':')[1]) - (main.endSilenceMs ?? a.rules.endSilenceMs) - mu.onsetT,
            ...(held ? { heldOnsetMs: mu.onsetT - held.onsetT } : {}),
          };
          let flush = mu.flushMs + (a.lazy ? 0 : others.reduce((n, l) => n + l.utterances[u]!.flushMs, 0));
          if (spotter) {
            const su = spotter.utterances[u]!;
            flush += su.flushMs;
            heard.spotted = (su.hyp.hits ?? []).map((k) => ({ keyword: k.keyword, startTime: k.startMs === undefined ? undefined : k.startMs / 1000, endTime: k.endMs === undefined ? undefined : k.endMs / 1000 }));
          }
          let v = decideConsent(heard, { classifier, tokenType: 'pinyin-initial-final', language: 'zh', calibration }, a.rules);
          if (a.lazy && others.length && (!v || v.cue === 'none' || v.cue === 'empty')) {
            // Heard again: the whole utterance decoded once more after the first final (about 25 ms of CPU per
            // second of audio on this machine, the measured cost of one hearing).
            heard.hypotheses.push(...others.map((l) => ({ ...toHypothesis(l.utterances[u]!.hyp), reheard: true })));
            flush += others.reduce((n, l) => n + ((l.utterances[u]!.endedT - l.utterances[u]!.onsetT + (l.preRollMs ?? 400) + (l.tailMs ?? 480)) * 25) / 1000, 0);
            v = decideConsent(heard, { classifier, tokenType: 'pinyin-initial-final', language: 'zh', calibration }, a.rules);
          }
          if (!v) continue;
          const at = mu.endedT + flush;
          if (v.provisional) {
            const onsetT: number = heard.heldOnsetMs === undefined ? mu.onsetT : mu.onsetT - heard.heldOnsetMs;
            held = { v, heard, at, onsetT };
            continue;
          }
          held = null;
          decide(v, heard, at);
          break;
        }
        if (held) decide(held.v, held.heard, held.at + FRAGMENT_HOLD_MS);
        out.push(decided);
      }
    }
  }
  return out;
}

/** Options every replay CLI shares: where the replays are and the decision rules to replay them with. */
export const REPLAY_OPTIONS = {
  replay: { type: 'string', default: 'bench/results/consent-replay' },
  gap: { type: 'string' },
  lead: { type: 'string' },
  match: { type: 'string' },
  agree: { type: 'boolean', default: false },
  'alt-grants': { type: 'boolean', default: false },
} as const;

export function rulesFrom(v: { gap?: string; lead?: string; match?: string; agree?: boolean; 'alt-grants'?: boolean }): Arrangement['rules'] {
  const rules = { ...DEFAULT_RULES };
  if (v.gap !== undefined) rules.maxUnheardGapMs = Number(v.gap);
  if (v.lead !== undefined) rules.maxUnheardLeadMs = Number(v.lead);
  if (v.match !== undefined) rules.minGrantConfidence = Number(v.match);
  if (v.agree) rules.requireAgreement = true;
  if (v['alt-grants']) rules.grantFromAlternative = true;
  return rules;
}

// Usage: tsx bench/consent/decisions.ts [corpus dir] --arrangement hot2@320~hot2@160 [--replay DIR] [--gap MS]
//          [--alt-grants] [--errors] [--sets natural,espeak] [--rates 16k,8k] (what the replay holds)
function main(): void {
  const { values, positionals } = parseArgs({ options: { ...REPLAY_OPTIONS, arrangement: { type: 'string', default: 'greedy' }, errors: { type: 'boolean', default: false }, sets: { type: 'string', default: 'natural,espeak' }, rates: { type: 'string', default: RATES.join(',') } }, allowPositionals: true });
  const rates = values.rates.split(',') as Rate[];
  const sets = values.sets.split(',') as ConsentSet[];
  const a = parseArrangement(values.arrangement, rulesFrom(values));
  const replays = loadReplays(values.replay, arrangementVariants(a));
  const ds = replayDecisions(consentItems(resolve(positionals[0] ?? '../shared/audio'), { sets }), replays, a, phasesOf(replays), undefined, rates, cutsOf(replays));
  for (const set of sets) {
    for (const rate of rates) {
      console.log(`${set.padEnd(7)} ${rate.padEnd(3)} ${fmtTally(tally(ds.filter((d) => d.item.set === set && d.rate === rate)))}`);
    }
  }
  if (values.errors) {
    for (const d of ds) if ((d.decision !== d.item.expected && d.item.set === 'natural') || (d.decision === 'granted' && d.item.expected !== 'granted')) console.log(`  ${d.item.set} ${d.rate} ${String(d.phase).padStart(4)} ${d.cut.padStart(9)} ${d.item.speaker.padEnd(18)} ${String(d.item.label.text).padEnd(8)} ${d.item.expected} → ${d.decision}  "${d.transcript}"  ${d.reason}`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) main();
