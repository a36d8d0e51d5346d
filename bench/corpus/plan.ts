// What the corpus contains: how many scenarios of each kind per half, and the conditions each one gets. Every
// factor is spread evenly within each kind (Rng.balanced / stratified) with the same counts in both halves, so the
// tune and test halves differ in their speakers, not in how hard their conditions are.
import { Rng } from './rng.js';
import type { Inventory, SpeechItem, Split } from './sources.js';

/** Bump whenever the output for a seed changes: the cache is keyed by it. */
export const GENERATOR_VERSION = 3;

export type Kind = 'barge_in' | 'backchannel' | 'echo_only' | 'cough' | 'laugh' | 'click' | 'dtmf' | 'background_speech' | 'noise_only';
export type NoiseType = 'babble' | 'car' | 'hum' | 'hiss' | 'tv';
export type EchoMode = 'none' | 'static' | 'change';
export type LineMode = 'none' | 'loss' | 'loss_plc';

interface Cell {
  kind: Kind;
  variant: string;
  /** Scenarios per half at the default size (320 per half, 640 in all). */
  n: number;
}

/**
 * Half barge-ins (short content phrases and long speech equally), half not: backchannels first among those, then
 * echo alone, then events, background speech and noise.
 */
export const CELLS: readonly Cell[] = [
  { kind: 'barge_in', variant: 'content', n: 80 },
  { kind: 'barge_in', variant: 'long', n: 80 },
  { kind: 'backchannel', variant: '1', n: 19 },
  { kind: 'backchannel', variant: '2', n: 19 },
  { kind: 'backchannel', variant: '3', n: 18 },
  { kind: 'echo_only', variant: 'echo_only', n: 32 },
  { kind: 'cough', variant: 'cough', n: 12 },
  { kind: 'laugh', variant: 'laugh', n: 10 },
  { kind: 'click', variant: 'click', n: 10 },
  { kind: 'dtmf', variant: 'dtmf', n: 10 },
  { kind: 'background_speech', variant: 'tv', n: 9 },
  { kind: 'background_speech', variant: 'babble', n: 9 },
  { kind: 'noise_only', variant: 'car', n: 4 },
  { kind: 'noise_only', variant: 'hum', n: 4 },
  { kind: 'noise_only', variant: 'hiss', n: 4 },
];
export const DEFAULT_COUNT = 2 * CELLS.reduce((s, c) => s + c.n, 0);

export interface Spec {
  index: number;
  id: string; // `${split}/s0001`
  split: Split;
  kind: Kind;
  variant: string;
  expected: 'barge_in' | 'no_barge_in';
  prompt: string; // p01 … p06
  /** Caller speech (barge-in: the phrase; backchannel: the unit that is repeated). */
  item: SpeechItem | null;
  repeats: number;
  echo: EchoMode;
  erlDb: number;
  delayMs: number;
  dispersionMs: number;
  change: { erlDb: number; delayMs: number; dispersionMs: number; atFraction: number } | null;
  doubleTalk: boolean;
  noise: NoiseType | 'none';
  snrDb: number;
  /** Caller speech level (dBFS RMS over the speech); the reference for SNR and events when nobody speaks. */
  levelDbfs: number;
  line: LineMode;
  lossPct: number;
}

const ZH_PROMPTS = ['p01', 'p02', 'p03', 'p04'];
const EN_PROMPTS = ['p05', 'p06'];
const ALL_PROMPTS = [...ZH_PROMPTS, ...EN_PROMPTS];
const NOISES: (NoiseType | 'none')[] = ['none', 'none', 'babble', 'car', 'hum', 'hiss', 'tv'];
const ECHOES: EchoMode[] = ['none', 'static', 'static', 'static', 'change'];
const LINES: LineMode[] = ['none', 'none', 'none', 'none', 'loss', 'loss_plc'];

/** Cell sizes for a corpus of `count` scenarios (both halves), keeping the proportions of CELLS. */
export function cellSizes(count: number): number[] {
  const per = count / 2;
  const total = CELLS.reduce((s, c) => s + c.n, 0);
  const sizes = CELLS.map((c) => Math.max(1, Math.floor((c.n * per) / total)));
  // Hand out what rounding left over, largest cells first.
  const order = CELLS.map((_, i) => i).sort((a, b) => CELLS[b].n - CELLS[a].n);
  for (let k = 0; sizes.reduce((s, x) => s + x, 0) < Math.ceil(per); k++) sizes[order[k % order.length]]++;
  return sizes;
}

/**
 * Scenario indices of a stratified sample of one half: the first `perCell[kind/variant]` scenarios of each cell (by
 * plan order, which does not need the speech inventory). Cells not named contribute none.
 */
export function sampleIndices(count: number, split: Split, perCell: Record<string, number>): number[] {
  const sizes = cellSizes(count);
  const out: number[] = [];
  let base = split === 'tune' ? 0 : sizes.reduce((s, x) => s + x, 0);
  CELLS.forEach((c, i) => {
    const k = Math.min(sizes[i], perCell[`${c.kind}/${c.variant}`] ?? 0);
    for (let j = 0; j < k; j++) out.push(base + j);
    base += sizes[i];
  });
  return out;
}

export function plan(seed: number, count: number, inv: Inventory): Spec[] {
  const specs: Spec[] = [];
  const sizes = cellSizes(count);
  let index = 0;
  for (const split of ['tune', 'test'] as const) {
    CELLS.forEach((cell, ci) => {
      const n = sizes[ci];
      const r = Rng.derive(seed, 'plan', split, cell.kind, cell.variant);
      const speechKind = cell.kind === 'barge_in' || cell.kind === 'backchannel';
      const pool: SpeechItem[] =
        cell.kind === 'barge_in' ? inv.bySplit(split, cell.variant === 'long' ? 'long' : 'content')
        : cell.kind === 'backchannel' ? inv.bySplit(split, 'backchannel')
        : [];
      if (speechKind && !pool.length) throw new Error(`no ${cell.kind}/${cell.variant} speech for the ${split} half`);
      const shuffledItems = r.shuffle(roundRobin(r, pool, n));
      const echo = cell.kind === 'echo_only' ? r.balanced(n, ['static', 'static', 'static', 'change'] as EchoMode[]) : r.balanced(n, ECHOES);
      const noise: (NoiseType | 'none')[] =
        cell.kind === 'background_speech' || cell.kind === 'noise_only' ? Array(n).fill(cell.variant) : r.balanced(n, NOISES);
      const snr = r.stratified(n, 0, 25);
      const level = r.stratified(n, -40, -15);
      const erl = r.stratified(n, 6, 30);
      const delay = r.stratified(n, 0, 250);
      const disp = r.stratified(n, 4, 16);
      const line = r.balanced(n, LINES);
      const loss = r.stratified(n, 1, 5);
      const echoIdx = echo.map((e, i) => (e !== 'none' ? i : -1)).filter((i) => i >= 0);
      const dtFlags = speechKind ? r.balanced(echoIdx.length, [true, false, false]) : [];
      const dt = new Set(echoIdx.filter((_, k) => dtFlags[k]));
      const zhPrompts = r.balanced(n, ZH_PROMPTS);
      const anyPrompts = r.balanced(n, ALL_PROMPTS);
      for (let i = 0; i < n; i++) {
        const item = shuffledItems[i];
        const prompt = !speechKind ? anyPrompts[i] : item!.lang === 'en' ? EN_PROMPTS[i % 2] : zhPrompts[i];
        const doubleTalk = dt.has(i);
        specs.push({
          index,
          id: `${split}/s${String(index + 1).padStart(4, '0')}`,
          split,
          kind: cell.kind,
          variant: cell.variant,
          expected: cell.kind === 'barge_in' ? 'barge_in' : 'no_barge_in',
          prompt,
          item,
          repeats: cell.kind === 'backchannel' ? Number(cell.variant) : 1,
          echo: echo[i],
          // Double talk is the hard case on purpose: the callee starts while a strong echo (6–12 dB down) is loud.
          erlDb: round1(doubleTalk ? 6 + (erl[i] - 6) / 4 : erl[i]),
          delayMs: Math.round(delay[i]),
          dispersionMs: round1(disp[i]),
          change: echo[i] === 'change'
            ? { erlDb: round1(r.uniform(6, 30)), delayMs: Math.round(r.uniform(0, 250)), dispersionMs: round1(r.uniform(4, 16)), atFraction: r.uniform(0.3, 0.7) }
            : null,
          doubleTalk,
          noise: noise[i],
          snrDb: round1(snr[i]),
          levelDbfs: round1(level[i]),
          line: line[i],
          lossPct: round1(loss[i]),
        });
        index++;
      }
    });
  }
  return specs;
}

/**
 * `n` clips taking turns by speaker (each speaker's clips in a shuffled cycle), so a speaker with many clips
 * (jf1957's 37 commands) gets the same share as one with eight.
 */
function roundRobin(r: Rng, pool: readonly SpeechItem[], n: number): (SpeechItem | null)[] {
  if (!pool.length) return Array(n).fill(null);
  const bySpeaker = new Map<string, SpeechItem[]>();
  for (const it of pool) bySpeaker.set(it.speaker, [...(bySpeaker.get(it.speaker) ?? []), it]);
  const queues = r.shuffle([...bySpeaker.keys()].sort()).map((k) => r.shuffle(bySpeaker.get(k)!));
  return Array.from({ length: n }, (_, i) => {
    const q = queues[i % queues.length];
    return q[Math.floor(i / queues.length) % q.length];
  });
}

const round1 = (x: number) => Math.round(x * 10) / 10;
