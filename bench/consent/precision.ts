// Grant precision against a safety threshold, from recorded replays: one decision rule (consent.maxUnheardLeadMs,
// minGrantSpeechMs, minGrantLogProb …) swept over values while the rest stay as given, and for each value how many
// grants are right (precision), how many yeses are still granted (recall) and which answers were granted wrongly,
// per set and rate. Descriptive: it chooses nothing (choices are made by crossval.ts on training sources only); it
// shows how steeply safety is bought with recall, i.e. whether a threshold means what it says.
//
// Usage: tsx bench/consent/precision.ts [corpus dir] --arrangement 'hot1.5@es160#gap=400' --rule lead --values 400,280,240,200,160
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { consentItems, RATES } from './corpus.js';
import { arrangementVariants, loadReplays, parseArrangement, phasesOf, REPLAY_OPTIONS, replayDecisions, rulesFrom, withRules } from './decisions.js';

function main(): void {
  const { values, positionals } = parseArgs({
    options: { ...REPLAY_OPTIONS, arrangement: { type: 'string', default: 'greedy' }, rule: { type: 'string', default: 'lead' }, values: { type: 'string', default: '400,240,200' } },
    allowPositionals: true,
  });
  const base = parseArrangement(values.arrangement, rulesFrom(values));
  const replays = loadReplays(values.replay, arrangementVariants(base));
  const items = consentItems(resolve(positionals[0] ?? '../shared/audio'));
  const phases = phasesOf(replays);
  console.log(`${values.arrangement}: ${values.rule} swept; natural and espeak answers × ${phases.length} cuts`);
  console.log(`${values.rule.padStart(6)}  set      rate  grants  right  precision  granted recall  false grants`);
  for (const v of values.values.split(',')) {
    const a = { ...base, rules: withRules(base.rules, `${values.rule}=${v}`), ...(base.at8k ? { at8k: { ...base.at8k, rules: withRules(base.at8k.rules, `${values.rule}=${v}`) } } : {}) };
    const ds = replayDecisions(items, replays, a, phases);
    for (const set of ['natural', 'espeak'] as const) {
      for (const rate of RATES) {
        const mine = ds.filter((d) => d.item.set === set && d.rate === rate);
        const grants = mine.filter((d) => d.decision === 'granted');
        const right = grants.filter((d) => d.item.expected === 'granted').length;
        const yes = mine.filter((d) => d.item.expected === 'granted').length;
        const wrong = grants.filter((d) => d.item.expected !== 'granted').map((d) => `${d.item.label.text}→"${d.transcript}"`);
        console.log(`${v.padStart(6)}  ${set.padEnd(8)} ${rate.padEnd(4)} ${String(grants.length).padStart(6)} ${String(right).padStart(6)}  ${(grants.length ? (right / grants.length) * 100 : NaN).toFixed(2).padStart(8)} %  ${((right / yes) * 100).toFixed(1).padStart(8)} %    ${wrong.length}${wrong.length ? ` (${wrong.join(', ')})` : ''}`);
      }
    }
  }
}

main();
