// Cross-speaker figures for consent settings from recorded replays (bench/consent/replay.ts): each candidate is
// replayed through the gateway's decision code; leave-one-source-out chooses among the candidates on the other
// sources' natural items and scores the held-out source; the espeak stress set is scored with the setting chosen on
// all natural sources (it is never used to choose).
//
// With replays cut at several placements (replay.ts --cuts), every placement is decided and counts: recall is over
// all placements, and an answer is a false grant when ANY placement of it grants (listed as such) — a live call cuts
// where its load puts the VAD, not where the nominal replay did.
//
// Usage: tsx bench/consent/crossval.ts [corpus dir] --replay DIR --candidates hot1,hot1.5,hot2[,hot1.5/kws …]
//          [--gap MS] [--lead MS] [--match X] [--agree] [--alt-grants] [--rate 16k|8k|both] [--json FILE]
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { consentItems, RATES, type Rate } from './corpus.js';
import { arrangementVariants, cutsOf, loadReplays, parseArrangement, phasesOf, REPLAY_OPTIONS, replayDecisions, rulesFrom, type Decided } from './decisions.js';
import { choose, fmtTally, leaveOneSourceOut, tally, type Outcome } from './folds.js';

function main(): void {
  const { values, positionals } = parseArgs({
    options: { ...REPLAY_OPTIONS, candidates: { type: 'string', default: 'greedy' }, tolerance: { type: 'string', default: '0' }, probes: { type: 'string', default: '' }, rate: { type: 'string', default: 'both' }, json: { type: 'string' } },
    allowPositionals: true,
  });
  const o = { dir: positionals[0] ?? '../shared/audio', replay: values.replay, candidates: values.candidates, rate: values.rate, json: values.json ?? '' };
  const rules = rulesFrom(values);
  const names = o.candidates.split(',');
  const arrangements = names.map((n) => parseArrangement(n, rules));
  const probeNames = values.probes ? values.probes.split(',') : [];
  const replays = loadReplays(o.replay, [...arrangements.flatMap(arrangementVariants), ...probeNames]);
  const phases = phasesOf(replays);
  const cuts = cutsOf(replays);
  const items = consentItems(resolve(o.dir));
  const rates: Rate[] = o.rate === 'both' ? [...RATES] : [o.rate as Rate];
  const decided = new Map<string, Decided[]>();
  for (const [i, a] of arrangements.entries()) decided.set(names[i]!, replayDecisions(items, replays, a, phases, undefined, RATES, cuts).filter((d) => rates.includes(d.rate)));

  console.log(`${items.filter((i) => i.set === 'natural').length} natural + ${items.filter((i) => i.set === 'espeak').length} espeak items × ${rates.join('/')} × phases ${phases.join(',')} ms × ${cuts.length} cut placement(s)`);
  // An answer granted at any placement is one false-grant answer, whatever the other placements decided.
  const falseAnswers = (ds: readonly Outcome[]) => [...new Set(ds.filter((d) => d.decision === 'granted' && d.item.expected !== 'granted').map((d) => `${d.item.label.file} ${d.rate} "${d.item.label.text}"`))];
  const nominal = (ds: readonly Outcome[]) => ds.filter((d) => (d as Decided).cut === '0:0');
  const placementLine = (ds: readonly Outcome[]) => {
    const f = falseAnswers(ds);
    return cuts.length > 1 ? `    at the VAD's own cut: ${fmtTally(tally(nominal(ds)), false)}; answers granted falsely at any placement: ${f.length}${f.length ? ` (${f.join(', ')})` : ''}` : '';
  };
  console.log('\nEvery candidate on all natural voices and on the espeak stress set (no selection, for reference):');
  for (const n of names) {
    for (const [set, rate] of (['natural', 'espeak'] as const).flatMap((st) => rates.map((r) => [st, r] as const))) {
      const ds = decided.get(n)!.filter((d) => d.item.set === set && d.rate === rate);
      console.log(`  ${n.padEnd(22)} ${set.padEnd(7)} ${rate.padEnd(3)} ${fmtTally(tally(ds))}`);
      if (cuts.length > 1) console.log(placementLine(ds));
    }
  }

  // One setting serves both rates on a gateway: it is chosen on both rates' outcomes together.
  const tolerance = Number(values.tolerance);
  // Hard negatives for the choice: each candidate's rules on the probe decodes' natural refusals and non-answers.
  const probed = new Map<string, Decided[]>();
  const negatives = items.filter((i) => i.set === 'natural' && i.expected !== 'granted');
  for (const [i, a] of arrangements.entries()) {
    probed.set(names[i]!, probeNames.flatMap((p) => replayDecisions(negatives, replays, { ...a, primary: p, alternatives: [] }, phases, undefined, RATES, cuts)).filter((d) => rates.includes(d.rate)));
  }
  const probesOf = probeNames.length ? (n: string) => probed.get(n)! as Outcome[] : undefined;
  if (probesOf) console.log(`\nHard negatives for the choice: ${probeNames.join(', ')} on ${negatives.length} natural refusals and non-answers`);
  const folds = leaveOneSourceOut(names, (n) => decided.get(n)! as Outcome[], tolerance, probesOf);
  console.log(`\nLeave-one-source-out (chosen on the other sources' natural items, ${rates.join(' + ')} together; scored on the held-out source):`);
  for (const f of folds) {
    for (const rate of rates) console.log(`  ${f.heldOut.padEnd(28)} ${rate.padEnd(3)} chose ${String(f.chosen).padEnd(20)} ${fmtTally(tally(f.outcomes.filter((x) => x.rate === rate)), false)}`);
  }
  const report: Record<string, unknown> = { candidates: names, phases, rules, folds: folds.map((f) => ({ heldOut: f.heldOut, chosen: f.chosen })) };
  for (const rate of rates) {
    const heldOs = folds.flatMap((f) => f.outcomes.filter((x) => x.rate === rate));
    const held = tally(heldOs);
    console.log(`  ${'ALL HELD-OUT'.padEnd(28)} ${rate.padEnd(3)} ${''.padEnd(26)} ${fmtTally(held)}`);
    if (cuts.length > 1) console.log(placementLine(heldOs));
    report[rate] = { ...held, falseGrantItems: held.falseGrantItems.map((x) => `${x.item.label.file} @${x.phase}`) };
  }
  // What ships: the candidate the same rule picks on every natural source; the stress set is scored with it.
  const chosen = choose(names, (n) => decided.get(n)!.filter((d) => d.item.set === 'natural'), tolerance, probesOf);
  console.log(`\nChosen on all natural sources: ${chosen}. The espeak-ng stress set with it:`);
  for (const rate of rates) {
    const ds = decided.get(chosen)!.filter((d) => d.item.set === 'espeak' && d.rate === rate);
    console.log(`  espeak-ng ${rate.padEnd(3)} ${fmtTally(tally(ds))}`);
    if (cuts.length > 1) console.log(placementLine(ds));
  }
  report.chosen = chosen;
  if (o.json) writeFileSync(o.json, JSON.stringify(report, null, 2));
}

main();
