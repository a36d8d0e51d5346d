// How an evaluation is shown: plain-text tables for the terminal and one self-contained HTML file (inline CSS and
// SVG, nothing fetched), from the same rows.
import { cdfChart, esc } from '../report/svg.js';
import { AFTER_STOP_BUDGET_MS, COMMIT_BUDGET_MS, PAUSE_BUDGET_MS, type Criterion, type GroupRow, type Outcome } from './score.js';

const pct = (v: number | null) => (v === null ? '–' : `${(100 * v).toFixed(0)}%`);
const num = (v: number | null | undefined) => (v === null || v === undefined ? '–' : String(Math.round(v)));

export const COLUMNS: [string, (r: GroupRow) => string][] = [
  ['n', (r) => String(r.n)],
  ['BI', (r) => String(r.bargeIns)],
  ['pause≤150', (r) => pct(r.pauseInTime)],
  ['pause p50/p95', (r) => (r.bargeIns ? `${num(r.pauseP50)}/${num(r.pauseP95)}` : '–')],
  ['commit≤500', (r) => pct(r.commitInTime)],
  ['commit p50/p95', (r) => (r.bargeIns ? `${num(r.commitP50)}/${num(r.commitP95)}` : '–')],
  ['miss P/C', (r) => (r.bargeIns ? `${r.missedPauses}/${r.missedCommits}` : '–')],
  ['early P/C', (r) => (r.bargeIns ? `${r.earlyPauses}/${r.earlyCommits}` : '–')],
  ['noBI', (r) => String(r.noBargeIns)],
  ['false pause', (r) => (r.noBargeIns ? `${r.falsePauses} (${pct(r.falsePauses / r.noBargeIns)})` : '–')],
  ['false commit', (r) => (r.noBargeIns ? String(r.falseCommits) : '–')],
  ['resumed', (r) => (r.falsePauses ? `${r.resumed}/${r.falsePauses}` : '–')],
  ['stuck', (r) => String(r.stuck)],
  ['after stop', (r) => `${r.afterStopMaxMs}`],
  ['failed', (r) => String(r.failed)],
];

export function textTable(title: string, rows: GroupRow[]): string {
  const head = ['group', ...COLUMNS.map(([h]) => h)];
  const body = rows.map((r) => [r.group, ...COLUMNS.map(([, f]) => f(r))]);
  const w = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  ');
  return [title, line(head), ...body.map(line)].join('\n');
}

export function criteriaText(cs: Criterion[]): string {
  return cs.map((c) => `  ${c.pass ? 'PASS' : 'FAIL'}  ${c.name}: ${c.measured} (target ${c.target})`).join('\n');
}

export const LEGEND = `BI = barge-in scenarios; pause/commit in inbound-audio ms after the labelled onset; miss P/C = no pause / no commit; early P/C = set off more than 100 ms before the onset (counted as failures, never as fast); noBI = scenarios without a barge-in; false pause/commit = any pause/commit in those; resumed = of those that paused, how many resumed without committing; stuck = a pause followed by neither resume nor commit though a second or more of the track followed; after stop = most prompt audio (ms) received after a pause or commit.`;

function htmlTable(rows: GroupRow[]): string {
  const head = `<tr><th>group</th>${COLUMNS.map(([h]) => `<th>${esc(h)}</th>`).join('')}</tr>`;
  const bad = (r: GroupRow) => (r.pauseInTime !== null && r.pauseInTime < 0.95) || (r.commitInTime !== null && r.commitInTime < 0.95) || r.falseCommits > 0 || r.stuck > 0;
  return `<table>${head}${rows.map((r) => `<tr class="${bad(r) ? 'bad' : ''}"><td class="l">${esc(r.group)}</td>${COLUMNS.map(([, f]) => `<td>${esc(f(r))}</td>`).join('')}</tr>`).join('')}</table>`;
}

function failures(os: readonly Outcome[]): Outcome[] {
  return os.filter((o) =>
    !o.ok || o.stuckPause || o.earlyPause || o.earlyCommit
    || (o.expected === 'barge_in' && (o.pauseMs === null || o.pauseMs > PAUSE_BUDGET_MS || o.commitMs === null || o.commitMs > COMMIT_BUDGET_MS))
    || (o.expected === 'no_barge_in' && (o.commitT !== null || (o.kind !== 'backchannel' && o.pauses.length > 0)))
    || Math.max(o.audioAfterPauseMs, o.audioAfterCommitMs) > AFTER_STOP_BUDGET_MS);
}

export function scenarioRowsHtml(os: readonly Outcome[]): string {
  const r = (o: Outcome) =>
    `<tr><td class="l">${esc(o.id)}</td><td class="l">${esc(`${o.kind}${o.variant ? '/' + o.variant : ''}`)}</td><td class="l">${esc(o.conditions.join(' '))}</td><td>${num(o.onsetMs)}</td><td>${num(o.pauseMs)}</td><td>${num(o.commitMs)}</td><td class="l">${esc(o.pauses.map(Math.round).join(' '))}</td><td class="l">${esc(o.resumes.map(Math.round).join(' '))}</td><td>${num(o.commitT)}</td><td>${o.earlyPause || o.earlyCommit ? 'early' : ''}${o.stuckPause ? ' stuck' : ''}</td><td>${Math.round(Math.max(o.audioAfterPauseMs, o.audioAfterCommitMs))}</td><td class="l">${esc(o.error ?? '')}</td></tr>`;
  return `<table><tr><th>scenario</th><th>kind</th><th>conditions</th><th>onset</th><th>pause − onset</th><th>commit − onset</th><th>pauses t</th><th>resumes t</th><th>commit t</th><th></th><th>after stop</th><th>error</th></tr>${os.map(r).join('')}</table>`;
}

export interface RunSection {
  title: string;
  outcomes: Outcome[];
  criteria: Criterion[];
  kinds: GroupRow[];
  conditions: GroupRow[];
}

export function renderHtml(title: string, meta: Record<string, string | number | null>, sections: RunSection[]): string {
  const parts: string[] = [`<h1>${esc(title)}</h1>`, `<p class="meta">${Object.entries(meta).map(([k, v]) => `<b>${esc(k)}</b> ${esc(String(v ?? '–'))}`).join(' · ')}</p>`, `<p class="muted">${esc(LEGEND)}</p>`];
  for (const s of sections) {
    parts.push(`<h2>${esc(s.title)}</h2>`);
    parts.push(`<table><tr><th></th><th>criterion</th><th>measured</th><th>target</th></tr>${s.criteria.map((c) => `<tr class="${c.pass ? 'ok' : 'bad'}"><td>${c.pass ? 'PASS' : 'FAIL'}</td><td class="l">${esc(c.name)}</td><td>${esc(c.measured)}</td><td>${esc(c.target)}</td></tr>`).join('')}</table>`);
    parts.push('<h3>Per kind</h3>', htmlTable(s.kinds), '<h3>Per condition (a scenario counts under each of its conditions)</h3>', htmlTable(s.conditions));
    const bi = s.outcomes.filter((o) => o.expected === 'barge_in' && o.ok);
    parts.push('<div class="row">',
      cdfChart('pause − onset (ms), barge-ins', [{ name: 'pause', values: bi.filter((o) => o.pauseMs !== null && !o.earlyPause).map((o) => o.pauseMs!) }], PAUSE_BUDGET_MS),
      cdfChart('commit − onset (ms), barge-ins', [{ name: 'commit', values: bi.filter((o) => o.commitMs !== null && !o.earlyCommit).map((o) => o.commitMs!) }], COMMIT_BUDGET_MS),
      '</div>');
    const f = failures(s.outcomes);
    parts.push(`<h3>Scenarios that failed a criterion (${f.length})</h3>`, scenarioRowsHtml(f));
    parts.push(`<details><summary>All ${s.outcomes.length} scenarios</summary>${scenarioRowsHtml(s.outcomes)}</details>`);
  }
  return `<!doctype html><html><head><meta charset="utf-8"><title>${esc(title)}</title><style>
body{font:13px system-ui,sans-serif;margin:20px;color:#222}table{border-collapse:collapse;margin:8px 0;font-size:11px}td,th{border:1px solid #ddd;padding:3px 6px;text-align:right}
td.l{text-align:left}th{background:#f4f4f4}.row{display:flex;flex-wrap:wrap;gap:12px}.chart h4{margin:4px 0}.muted{color:#777}tr.bad td{background:#fee}tr.ok td:first-child{color:#070}.meta{color:#555}
</style></head><body>${parts.join('\n')}</body></html>`;
}

/** Markdown of the same tables, for pasting into the README's "Measured" section. */
export function renderMarkdown(sections: RunSection[]): string {
  const table = (rows: GroupRow[]) =>
    [`| group | ${COLUMNS.map(([h]) => h).join(' | ')} |`, `|---|${COLUMNS.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.group} | ${COLUMNS.map(([, f]) => f(r)).join(' | ')} |`)].join('\n');
  return sections
    .map((s) => [`### ${s.title}`, '', ...s.criteria.map((c) => `- ${c.pass ? 'PASS' : 'FAIL'} ${c.name}: ${c.measured} (target ${c.target})`), '', table(s.kinds), '', table(s.conditions)].join('\n'))
    .join('\n\n') + `\n\n${LEGEND}\n`;
}
