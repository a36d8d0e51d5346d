// Minimal inline-SVG charts (no external JS, no network): a CDF per latency metric and line charts for ramps.
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf'];

function niceMax(v: number): number {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function axes(w: number, h: number, pad: number, xMin: number, xMax: number, yMax: number, xLabel: string, yLabel: string): string {
  const parts: string[] = [];
  for (let i = 0; i <= 4; i++) {
    const y = h - pad - ((h - 2 * pad) * i) / 4;
    const x = pad + ((w - 2 * pad) * i) / 4;
    parts.push(`<line x1="${pad}" y1="${y}" x2="${w - pad}" y2="${y}" stroke="#eee"/>`);
    parts.push(`<text x="${pad - 4}" y="${y + 4}" text-anchor="end" font-size="10">${+((yMax * i) / 4).toPrecision(3)}</text>`);
    parts.push(`<text x="${x}" y="${h - pad + 14}" text-anchor="middle" font-size="10">${+(xMin + ((xMax - xMin) * i) / 4).toPrecision(3)}</text>`);
  }
  parts.push(`<line x1="${pad}" y1="${h - pad}" x2="${w - pad}" y2="${h - pad}" stroke="#333"/>`);
  parts.push(`<line x1="${pad}" y1="${pad}" x2="${pad}" y2="${h - pad}" stroke="#333"/>`);
  parts.push(`<text x="${w / 2}" y="${h - 4}" text-anchor="middle" font-size="11">${esc(xLabel)}</text>`);
  parts.push(`<text x="12" y="${h / 2}" text-anchor="middle" font-size="11" transform="rotate(-90 12 ${h / 2})">${esc(yLabel)}</text>`);
  return parts.join('');
}

/** Empirical CDF of one or more sample sets, with an optional vertical budget line. */
export function cdfChart(title: string, series: { name: string; values: number[] }[], budget?: number): string {
  const w = 420, h = 240, pad = 40;
  const all = series.flatMap((s) => s.values);
  if (all.length === 0) return `<div class="chart"><h4>${esc(title)}</h4><p class="muted">no samples</p></div>`;
  const xMin = Math.min(0, ...all);
  const xMax = niceMax(Math.max(...all, (budget ?? 0) * 1.15) - xMin) + xMin;
  const sx = (v: number) => pad + ((v - xMin) / (xMax - xMin)) * (w - 2 * pad);
  const sy = (p: number) => h - pad - p * (h - 2 * pad);
  let body = axes(w, h, pad, xMin, xMax, 1, 'ms', 'fraction ≤ x');
  series.forEach((s, i) => {
    const v = [...s.values].sort((a, b) => a - b);
    if (!v.length) return;
    let d = `M${sx(v[0])},${sy(0)}`;
    v.forEach((x, k) => (d += ` L${sx(x)},${sy(k / v.length)} L${sx(x)},${sy((k + 1) / v.length)}`));
    body += `<path d="${d}" fill="none" stroke="${COLORS[i % COLORS.length]}" stroke-width="1.6"/>`;
    body += `<text x="${w - pad}" y="${pad + 12 * i}" text-anchor="end" font-size="10" fill="${COLORS[i % COLORS.length]}">${esc(s.name)} (n=${v.length})</text>`;
  });
  if (budget !== undefined) {
    body += `<line x1="${sx(budget)}" y1="${pad}" x2="${sx(budget)}" y2="${h - pad}" stroke="#999" stroke-dasharray="4 3"/>`;
    body += `<text x="${sx(budget) + 3}" y="${h - pad - 4}" font-size="10" fill="#666">budget p95 ${budget}</text>`;
  }
  body += `<line x1="${pad}" y1="${sy(0.95)}" x2="${w - pad}" y2="${sy(0.95)}" stroke="#ccc" stroke-dasharray="2 2"/>`;
  return `<div class="chart"><h4>${esc(title)}</h4><svg width="${w}" height="${h}" xmlns="http://www.w3.org/2000/svg">${body}</svg></div>`;
}

/** Lines of y against x (e.g. p95 latency vs concurrent calls). Null points are skipped. */
export function lineChart(title: string, xLabel: string, yLabel: string, xs: number[], series: { name: string; ys: (number | null)[] }[], hLine?: { y: number; label: string }): string {
  const w = 560, h = 280, pad = 44;
  const ys = series.flatMap((s) => s.ys.filter((y): y is number => y !== null));
  if (!xs.length || !ys.length) return `<div class="chart"><h4>${esc(title)}</h4><p class="muted">no data</p></div>`;
  const xMax = niceMax(Math.max(...xs));
  const yMax = niceMax(Math.max(...ys, hLine?.y ?? 0));
  const sx = (v: number) => pad + (v / xMax) * (w - 2 * pad);
  const sy = (v: number) => h - pad - (v / yMax) * (h - 2 * pad);
  let body = axes(w, h, pad, 0, xMax, yMax, xLabel, yLabel);
  series.forEach((s, i) => {
    const col = COLORS[i % COLORS.length];
    const pts = xs.map((x, k) => [x, s.ys[k]] as const).filter((p): p is readonly [number, number] => p[1] !== null);
    if (!pts.length) return;
    body += `<polyline points="${pts.map(([x, y]) => `${sx(x)},${sy(y)}`).join(' ')}" fill="none" stroke="${col}" stroke-width="1.8"/>`;
    body += pts.map(([x, y]) => `<circle cx="${sx(x)}" cy="${sy(y)}" r="3" fill="${col}"/>`).join('');
    body += `<text x="${w - pad}" y="${pad + 12 * i}" text-anchor="end" font-size="10" fill="${col}">${esc(s.name)}</text>`;
  });
  if (hLine) {
    body += `<line x1="${pad}" y1="${sy(hLine.y)}" x2="${w - pad}" y2="${sy(hLine.y)}" stroke="#999" stroke-dasharray="4 3"/>`;
    body += `<text x="${pad + 4}" y="${sy(hLine.y) - 3}" font-size="10" fill="#666">${esc(hLine.label)}</text>`;
  }
  return `<div class="chart"><h4>${esc(title)}</h4><svg width="${w}" height="${h}" xmlns="http://www.w3.org/2000/svg">${body}</svg></div>`;
}

export { esc };
