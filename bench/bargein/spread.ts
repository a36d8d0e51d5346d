// The same corpus run more than once (`npm run eval:bargein -- … --runs N`): at real time a call's decisions depend on
// when its frames and the recogniser's looks come back, so two runs of one configuration disagree on some scenarios
// (on the generated corpus's tuning half, 19–24 of 320 with content decisions on). A difference between two settings
// smaller than a setting's own spread is not a result; this puts each criterion's per-run figures and the scenarios
// whose verdict changed side by side.
import { committedInTime, criteria, pausedInTime, type Outcome } from './score.js';

/** One scenario's verdict on the criteria: what a different run may change. */
export function verdictOf(o: Outcome): string {
  if (!o.ok) return 'failed';
  if (o.expected === 'barge_in') return `${pausedInTime(o) ? 'paused' : 'pause missed'}, ${committedInTime(o) ? 'committed' : 'commit missed'}`;
  if (o.commitT !== null) return 'committed';
  return o.pauses.length > 0 ? (o.kind === 'backchannel' ? 'paused, resumed' : 'paused') : 'quiet';
}

export interface Spread {
  runs: number;
  /** Per criterion (criteria()'s order): its name and each run's measured figure. */
  criteria: { name: string; measured: string[] }[];
  /** Scenarios whose verdict was not the same in every run, with each run's verdict. */
  changed: { id: string; kind: string; verdicts: string[] }[];
}

/** Runs of one section (same scenarios, same order of ids not required). */
export function spreadOf(runs: readonly (readonly Outcome[])[]): Spread {
  if (!runs.length) throw new Error('no runs');
  const per = runs.map((os) => criteria(os));
  const byId = runs.map((os) => new Map(os.map((o) => [o.id, o])));
  const changed: Spread['changed'] = [];
  for (const o of runs[0]!) {
    const verdicts = byId.map((m) => {
      const x = m.get(o.id);
      return x ? verdictOf(x) : 'not run';
    });
    if (verdicts.some((v) => v !== verdicts[0])) changed.push({ id: o.id, kind: o.kind, verdicts });
  }
  return { runs: runs.length, criteria: per[0]!.map((c, i) => ({ name: c.name, measured: per.map((p) => p[i]!.measured) })), changed };
}

export function spreadText(title: string, s: Spread, total: number): string {
  const lines = [`=== ${title}: ${s.runs} runs`];
  for (const c of s.criteria) lines.push(`  ${c.name.padEnd(66)} ${c.measured.join(' | ')}`);
  const bi = s.changed.filter((c) => c.kind === 'barge_in').length;
  lines.push(`  scenarios whose verdict changed between runs: ${s.changed.length} of ${total} (barge-ins ${bi}, others ${s.changed.length - bi})`);
  for (const c of s.changed.slice(0, 40)) lines.push(`    ${c.id} ${c.kind}: ${c.verdicts.join(' | ')}`);
  if (s.changed.length > 40) lines.push(`    … ${s.changed.length - 40} more in result.json`);
  return lines.join('\n');
}
