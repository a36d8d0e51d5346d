// How far the canceller gets on the generated corpus, and how well the gate's floor matches what it leaves: on the
// offline frames of the tuning half (bench/bargein/offline.ts), the frames of a locked canceller with the prompt's
// reference in reach and no caller sound within 300 ms (echo and line noise only), by time since the lock:
//   ERLE   10·log10(Σ microphone / Σ residual): the cancellation, as the G.168 unit tests measure it (their Annex D
//          paths at ERL 6 dB reach 19–31 dB), here with the line's noise in both sums;
//   echo left  Σ max(residual − noise floor, 0) against Σ expected residual echo (the gate's leakage × echo
//          estimate): > 1 the floor is too low, < 1 too high; and per frame the quantiles of that ratio;
//   floor  the share of frames whose residual is above the gate's floor (expected echo + noise).
// The same for the callee's labelled speech of barge-ins (how loud the callee stands over that floor). Then, around
// each barge-in's and backchannel's onset (the second before, 0–250, 250–500, 500–1000 ms after): the expected
// residual echo's share of the echo estimate (does double talk inflate the leakage?); and in the second before a
// barge-in's onset, per line (clean, G.711, noise type) and ERL, the expected residual echo and the echo really left
// (residual − noise floor), both in dB of the echo estimate. Tuning half only.
//
// Usage: npx tsx bench/bargein/erle.ts [--rate 16k|8k|both] [--filter KEY=V,…]  (the filter's screening overrides,
//   as for `npm run eval:bargein:offline -- --filter`, with their own frames cache)
import { loadConfig } from '../../gateway/config.js';
import { VAD_FRAME_MS } from '../../gateway/listen/vad/VadModel.js';
import { ensureCorpus } from '../corpus/build.js';
import { applyFilterTuning, framesFor, scenarioId } from '../eval-bargein-offline.js';
import { loadScenarioLabels, type ScenarioLabel } from './labels.js';
import type { ScenarioFrames } from './offline.js';

type Seg = { startMs: number; endMs: number };
/** The caller's sound: labelled speech, or a cough's, laugh's, click's or key's bursts. */
const segsOf = (l: ScenarioLabel): Seg[] => [
  ...((l.callerSpeechSegmentsMs as Seg[] | undefined) ?? (l.speechOnsetMs != null ? [{ startMs: l.speechOnsetMs, endMs: l.speechEndMs ?? l.speechOnsetMs }] : [])),
  ...((l.event as { bursts?: Seg[] } | null)?.bursts ?? []),
];

interface Acc {
  mic: number;
  res: number;
  left: number;
  exp: number;
  over: number;
  n: number;
  ratios: number[];
}
const acc = (): Acc => ({ mic: 0, res: 0, left: 0, exp: 0, over: 0, n: 0, ratios: [] });

function add(a: Acc, s: ScenarioFrames, i: number): void {
  const c = s.cols;
  a.mic += c.mic[i];
  a.res += c.res[i];
  a.left += Math.max(0, c.res[i] - c.noise[i]);
  a.exp += c.exp[i];
  a.over += c.res[i] > c.exp[i] + c.noise[i] ? 1 : 0;
  a.n++;
  a.ratios.push(Math.max(0, c.res[i] - c.noise[i]) / (c.exp[i] + 1e-12));
}

const quant = (x: number[], q: number) => {
  const s = [...x].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor(q * s.length))] : NaN;
};

function line(name: string, a: Acc): string {
  if (!a.n) return `${name.padEnd(22)} –`;
  const db = (x: number) => (10 * Math.log10(x)).toFixed(1);
  const q = [0.1, 0.5, 0.9].map((p) => quant(a.ratios, p).toFixed(2)).join('/');
  return `${name.padEnd(22)} frames ${String(a.n).padStart(6)}  ERLE ${db(a.mic / (a.res + 1e-30)).padStart(5)} dB  echo left / expected ${(a.left / (a.exp + 1e-30)).toFixed(2)} (per frame p10/50/90 ${q})  above floor ${((100 * a.over) / a.n).toFixed(0)} %`;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2).filter((a) => a !== '--');
  let rates: (8000 | 16000)[] = [16000, 8000];
  let filter = '';
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--rate') rates = argv[++i] === 'both' ? [16000, 8000] : [argv[i] === '8k' ? 8000 : 16000];
    else if (a === '--filter') filter = argv[++i];
    else throw new Error(`unknown option ${a}`);
  }
  const tag = applyFilterTuning(filter);
  const folder = await ensureCorpus(1);
  const cfg = loadConfig(process.env, { port: 0 });
  const items = loadScenarioLabels(folder).filter((l) => l.split === 'tune');
  const buckets: [string, number][] = [
    ['0–0.5 s after lock', 500],
    ['0.5–1 s', 1000],
    ['1–2 s', 2000],
    ['2–4 s', 4000],
    ['≥ 4 s', Infinity],
  ];
  for (const rate of rates) {
    const frames = await framesFor(folder, items, rate, cfg, `tune${tag}`);
    const byTime = buckets.map(() => acc());
    const byCond = new Map<string, Acc>();
    const callee = acc();
    const calleeCond = new Map<string, Acc>();
    for (const l of items) {
      if (!l.echo) continue;
      const s = frames.get(scenarioId(l))!;
      const segs = segsOf(l);
      let lockMs = -1;
      for (let i = 0; i < s.n; i++) {
        if (!s.cols.locked[i]) continue;
        const t = i * VAD_FRAME_MS;
        if (lockMs < 0) lockMs = t;
        if (s.cols.ref[i] <= 0 || s.cols.exp[i] <= 0) continue;
        if (segs.some((g) => t >= g.startMs && t < g.endMs) && l.expected === 'barge_in') {
          add(callee, s, i);
          for (const c of (l.conditions as string[]) ?? []) {
            if (!calleeCond.has(c)) calleeCond.set(c, acc());
            add(calleeCond.get(c)!, s, i);
          }
          continue;
        }
        if (segs.some((g) => t >= g.startMs - 300 && t < g.endMs + 300)) continue;
        const since = t - lockMs;
        add(byTime[buckets.findIndex(([, end]) => since < end)], s, i);
        for (const c of (l.conditions as string[]) ?? []) {
          if (!byCond.has(c)) byCond.set(c, acc());
          add(byCond.get(c)!, s, i);
        }
      }
    }
    process.stdout.write(`\n=== ${rate / 1000}k tune${tag}: echo and noise only (locked, reference in reach, no caller sound within 300 ms)\n`);
    buckets.forEach(([name], j) => process.stdout.write(`${line(name, byTime[j])}\n`));
    for (const [c, a] of [...byCond].sort()) process.stdout.write(`${line(c, a)}\n`);
    process.stdout.write(`--- callee's labelled speech of barge-ins (echo left = callee + residual echo)\n${line('all', callee)}\n`);
    for (const [c, a] of [...calleeCond].sort()) process.stdout.write(`${line(c, a)}\n`);
    aroundOnset(items, frames);
    beforeOnset(items, frames);
  }
}

const median = (x: number[]) => [...x].sort((a, b) => a - b)[Math.floor(x.length / 2)] ?? NaN;

function aroundOnset(items: ScenarioLabel[], frames: Map<string, ScenarioFrames>): void {
  const W = [[-1000, 0], [0, 250], [250, 500], [500, 1000]];
  for (const kind of ['barge_in', 'backchannel']) {
    const acc = W.map(() => ({ exp: 0, est: 0, per: [] as number[] }));
    for (const l of items) {
      if (l.kind !== kind || !l.echo || l.speechOnsetMs == null) continue;
      const s = frames.get(scenarioId(l))!;
      W.forEach(([a, b], j) => {
        let e = 0;
        let y = 0;
        for (let i = 0; i < s.n; i++) {
          const t = i * VAD_FRAME_MS - l.speechOnsetMs!;
          if (t < a || t >= b || !s.cols.locked[i]) continue;
          e += s.cols.exp[i];
          y += s.cols.est[i];
        }
        acc[j].exp += e;
        acc[j].est += y;
        if (y > 0) acc[j].per.push(e / y);
      });
    }
    process.stdout.write(`--- ${kind}: expected residual echo ÷ echo estimate around the onset (sum; median of scenarios)\n  ${W.map(([a, b], j) => `[${a}, ${b}) ms ${(acc[j].exp / acc[j].est).toFixed(3)}; ${median(acc[j].per).toFixed(3)}`).join(' | ')}\n`);
  }
}

function beforeOnset(items: ScenarioLabel[], frames: Map<string, ScenarioFrames>): void {
  const groups = new Map<string, { exp: number; est: number; left: number; noise: number; n: number }>();
  for (const l of items) {
    if (l.kind !== 'barge_in' || !l.echo || l.speechOnsetMs == null) continue;
    const erl = (l.echo as unknown as { erlDb: number }).erlDb;
    const g = `${l.noise ? `noise_${(l.noise as { type: string }).type}` : l.line ? 'g711' : 'clean line'}, ERL ${erl < 12 ? '< 12' : '≥ 12'} dB`;
    const s = frames.get(scenarioId(l))!;
    const a = groups.get(g) ?? { exp: 0, est: 0, left: 0, noise: 0, n: 0 };
    for (let i = 0; i < s.n; i++) {
      const t = i * VAD_FRAME_MS - l.speechOnsetMs!;
      if (t < -1000 || t >= -100 || !s.cols.locked[i] || s.cols.est[i] <= 0) continue;
      a.exp += s.cols.exp[i];
      a.est += s.cols.est[i];
      a.noise += s.cols.noise[i];
      a.left += Math.max(0, s.cols.res[i] - s.cols.noise[i]);
      a.n++;
    }
    groups.set(g, a);
  }
  const db = (x: number) => (10 * Math.log10(x)).toFixed(1).padStart(5);
  process.stdout.write('--- the second before a barge-in\'s onset, dB of the echo estimate: expected residual echo, echo left, noise floor\n');
  for (const [g, a] of [...groups].sort()) process.stdout.write(`  ${g.padEnd(24)} frames ${String(a.n).padStart(4)}  expected ${db(a.exp / a.est)}  left ${db(a.left / a.est)}  noise ${db(a.noise / a.est)}\n`);
}

main().then(
  () => process.exit(0),
  (e: Error) => {
    process.stderr.write(`erle: ${e.stack}\n`);
    process.exit(2);
  },
);
