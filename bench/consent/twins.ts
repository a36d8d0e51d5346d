// Error analysis of the narrowband path: every natural answer the 8 kHz twin gets wrong at some cut placement,
// beside what its 16 kHz original was heard as, per item — where the two rates part (the onset, the last syllable,
// a fragment, nothing at all). Replays from bench/consent/replay.ts (one variant per rate, or one for both).
//
// Usage: tsx bench/consent/twins.ts [corpus dir] --replay DIR --wide hot2r3x --narrow hot2r3x@bwe0 [--class granted]
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { consentItems } from './corpus.js';
import { cutsOf, DEFAULT_RULES, loadReplays, parseArrangement, replayDecisions, type Decided } from './decisions.js';

function main(): void {
  const { values, positionals } = parseArgs({
    options: { replay: { type: 'string', default: 'bench/results/consent-replay' }, wide: { type: 'string', default: 'hot2r3x' }, narrow: { type: 'string' }, class: { type: 'string', default: 'granted' } },
    allowPositionals: true,
  });
  const wide = values.wide;
  const narrow = values.narrow ?? wide;
  const items = consentItems(resolve(positionals[0] ?? '../shared/audio'), { sets: ['natural'] }).filter((i) => i.expected === values.class);
  const rw = loadReplays(values.replay, [wide]);
  const rn = loadReplays(values.replay, [narrow]);
  const cuts = cutsOf(rn);
  const dw = replayDecisions(items, rw, parseArrangement(wide, DEFAULT_RULES), [0], undefined, ['16k'], cuts);
  const dn = replayDecisions(items, rn, parseArrangement(narrow, DEFAULT_RULES), [0], undefined, ['8k'], cuts);
  const by = (ds: Decided[]) => {
    const m = new Map<string, Decided[]>();
    for (const d of ds) m.set(d.item.label.file, [...(m.get(d.item.label.file) ?? []), d]);
    return m;
  };
  const bw = by(dw);
  const bn = by(dn);
  let missW = 0;
  let missN = 0;
  const reasons = new Map<string, number>();
  for (const it of items) {
    const w = bw.get(it.label.file)!;
    const n = bn.get(it.label.file)!;
    const wrongW = w.filter((d) => d.decision !== it.expected);
    const wrongN = n.filter((d) => d.decision !== it.expected);
    missW += wrongW.length;
    missN += wrongN.length;
    if (!wrongN.length && !wrongW.length) continue;
    const hist = (ds: Decided[]) => {
      const h = new Map<string, number>();
      for (const d of ds) h.set(`${d.decision} "${d.transcript}"`, (h.get(`${d.decision} "${d.transcript}"`) ?? 0) + 1);
      return [...h].sort((a, b) => b[1] - a[1]).map(([k, c]) => `${c}× ${k}`).join('; ');
    };
    for (const d of wrongN) reasons.set(d.reason.replace(/[\d.]+/g, '#'), (reasons.get(d.reason.replace(/[\d.]+/g, '#')) ?? 0) + 1);
    console.log(`${it.label.file.replace('natural/', '').padEnd(44)} ${String(it.label.text).padEnd(6)} 16k wrong ${String(wrongW.length).padStart(2)}/${w.length}  8k wrong ${String(wrongN.length).padStart(2)}/${n.length}`);
    console.log(`    16k: ${hist(w)}`);
    console.log(`     8k: ${hist(n)}`);
  }
  console.log(`\n${values.class}: wrong 16k ${missW}, 8k ${missN} of ${items.length * cuts.length} placements`);
  console.log('8 kHz reasons:');
  for (const [r, c] of [...reasons].sort((a, b) => b[1] - a[1])) console.log(`  ${String(c).padStart(4)}  ${r}`);
}

main();
