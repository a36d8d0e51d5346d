// Error analysis of a barge-in policy on the offline frames (bench/bargein/offline.ts), for tuning: the barge-ins
// that missed "commit ≤ 500 ms", by when (early, late, never) and by what held them back in their first 500 ms
// (bench/bargein/failures.ts), per condition; the false commits by kind. Tuning half only, like the offline eval.
//
// Usage: npx tsx bench/bargein/analyze.ts [--rate 16k|8k|both] [--policy SPEC] [--list] [--oracle] [--trace id,id]
//          [--filter KEY=V,…] (the echo filter's screening overrides, as for the offline eval: their frames cache)
//   SPEC as for `npm run eval:bargein:offline -- --policy`; --list prints one line per failure, --trace the frames
//   (start ms: prob, E = echo-gated, T = DTMF key, /dB over the speech-like background) around a scenario's speech;
//   --oracle the criteria with the echo gate's verdict cleared on every frame of the callee's labelled speech (what a
//   perfect near-end detector inside the echo gate would be worth; the other frames as they are).
import { loadConfig } from '../../gateway/config.js';
import { BackgroundLevel } from '../../gateway/listen/BackgroundLevel.js';
import { VAD_FRAME_MS } from '../../gateway/listen/vad/VadModel.js';
import { ensureCorpus } from '../corpus/build.js';
import { applyFilterTuning, evaluate, framesFor, makePolicy, scenarioId, summaryLine } from '../eval-bargein-offline.js';
import { causeOf, commitFailure, windowCounts, type FrameView } from './failures.js';
import { loadScenarioLabels, type ScenarioLabel } from './labels.js';
import { probOf, type ScenarioFrames } from './offline.js';

/** The frames as the policy sees them (the worker's prob, echo flag and level over the background). */
function views(s: ScenarioFrames, rejectDtmf: boolean): FrameView[] {
  const bg = new BackgroundLevel(s.rate === 16000 ? 512 : 256);
  const out: FrameView[] = [];
  for (let i = 0; i < s.n; i++) {
    const prob = probOf(s, i, rejectDtmf);
    out.push({ startMs: i * VAD_FRAME_MS, prob, echo: s.cols.echo[i] === 1, overBackgroundDb: bg.next(s.cols.res[i], prob) });
  }
  return out;
}

const utteranceMs = (l: ScenarioLabel) => {
  const segs = l.callerSpeechSegmentsMs as { startMs: number; endMs: number }[] | undefined;
  return segs?.length ? segs[segs.length - 1].endMs - segs[0].startMs : (l.speechEndMs ?? 0) - (l.speechOnsetMs ?? 0);
};

async function main(): Promise<void> {
  const argv = process.argv.slice(2).filter((a) => a !== '--');
  let rates: (8000 | 16000)[] = [16000, 8000];
  let spec = 'base';
  let list = false;
  let trace: string[] = [];
  let oracle = false;
  let tag = '';
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--rate') rates = argv[++i] === 'both' ? [16000, 8000] : [argv[i] === '8k' ? 8000 : 16000];
    else if (a === '--policy') spec = argv[++i];
    else if (a === '--list') list = true;
    else if (a === '--oracle') oracle = true;
    else if (a === '--trace') trace = argv[++i].split(',');
    else if (a === '--filter') tag = applyFilterTuning(argv[++i]);
    else throw new Error(`unknown option ${a}`);
  }
  const folder = await ensureCorpus(1);
  const cfg = loadConfig(process.env, { port: 0 });
  const items = loadScenarioLabels(folder).filter((l) => l.split === 'tune');
  const byId = new Map(items.map((l) => [scenarioId(l), l]));
  const b = cfg.bargeIn;
  for (const rate of rates) {
    const frames = await framesFor(folder, items, rate, cfg, `tune${tag}`);
    const os = evaluate(items, frames, makePolicy(cfg, spec));
    const tally = new Map<string, number>();
    const add = (k: string) => tally.set(k, (tally.get(k) ?? 0) + 1);
    const lines: string[] = [];
    for (const o of os) {
      const l = byId.get(o.id)!;
      const fail = commitFailure(o);
      if (fail) {
        const w = windowCounts(views(frames.get(o.id)!, cfg.vad.rejectDtmf), o.onsetMs!, b);
        const cause = causeOf(w, utteranceMs(l));
        add(`commit ${fail.padEnd(15)} ${cause}`);
        for (const c of o.conditions) add(`condition ${c.padEnd(14)} ${fail}`);
        lines.push(`${fail.padEnd(15)} ${cause.padEnd(15)} ${o.id} ${l.variant} "${l.text ?? ''}" ${utteranceMs(l)} ms [${o.conditions.join(',')}] pause ${o.pauseMs} commit ${o.commitMs} | first 500 ms: speech ${w.speech} echo ${w.echo} low ${w.low} gated ${w.gated}`);
      }
      if (o.expected === 'no_barge_in' && o.commitT !== null) {
        add(`false commit ${o.kind}/${o.variant}`);
        lines.push(`false commit ${o.kind}/${o.variant} ${o.id} [${o.conditions.join(',')}] pauses ${o.pauses.join(',')} commit ${o.commitT}`);
      }
    }
    process.stdout.write(`\n=== ${rate / 1000}k tune, policy ${spec}\n${[...tally].sort().map(([k, v]) => `${k}: ${v}`).join('\n')}\n`);
    if (list) process.stdout.write(`\n${lines.sort().join('\n')}\n`);
    if (oracle) {
      const cleared = new Map([...frames].map(([id, f]) => [id, { ...f, cols: { ...f.cols, echo: [...f.cols.echo] } }]));
      for (const l of items) {
        if (l.expected !== 'barge_in') continue;
        const f = cleared.get(scenarioId(l))!;
        const segs = (l.callerSpeechSegmentsMs as { startMs: number; endMs: number }[] | undefined) ?? [{ startMs: l.speechOnsetMs!, endMs: l.speechEndMs! }];
        for (let i = 0; i < f.n; i++) if (segs.some((g) => i * VAD_FRAME_MS >= g.startMs && i * VAD_FRAME_MS < g.endMs)) f.cols.echo[i] = 0;
      }
      process.stdout.write(`\npolicy as is:         ${summaryLine(os)}\necho gate oracle:     ${summaryLine(evaluate(items, cleared, makePolicy(cfg, spec)))}\n`);
    }
    for (const id of trace) {
      const l = byId.get(id);
      if (!l) throw new Error(`${id}: not in the tuning half`);
      const from = (l.speechOnsetMs ?? 0) - 600;
      const to = (l.speechEndMs ?? l.durationMs) + 400;
      const s = frames.get(id)!;
      const row = views(s, cfg.vad.rejectDtmf)
        .map((f, i) => ({ f, tone: s.cols.tone?.[i] === 1 }))
        .filter(({ f }) => f.startMs >= from && f.startMs <= to)
        .map(({ f, tone }) => `${Math.round(f.startMs)}:${f.prob.toFixed(2)}${f.echo ? 'E' : ''}${tone ? 'T' : ''}${Number.isFinite(f.overBackgroundDb) ? `/${Math.round(f.overBackgroundDb)}` : ''}`);
      process.stdout.write(`\n# ${id} ${l.kind}/${l.variant} onset ${l.speechOnsetMs} end ${l.speechEndMs}\n${row.join(' ')}\n`);
    }
  }
}

main().then(
  () => process.exit(0),
  (e: Error) => {
    process.stderr.write(`analyze: ${e.stack}\n`);
    process.exit(2);
  },
);
