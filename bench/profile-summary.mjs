// Summarises a V8 .cpuprofile (node --cpu-prof): top self-time functions and, with a rules JSON, % per stage.
// node bench/profile-summary.mjs FILE.cpuprofile [topN] [rulesJson]   (see bench/PROFILE.md for the rules used)
import { readFileSync } from 'node:fs';
const f = process.argv[2];
const p = JSON.parse(readFileSync(f, 'utf8'));
const byId = new Map(p.nodes.map((n) => [n.id, n]));
const self = new Map();
const dt = p.timeDeltas; let total = 0;
const counts = new Map();
for (let i = 0; i < p.samples.length; i++) { const d = dt[i] ?? 0; counts.set(p.samples[i], (counts.get(p.samples[i]) ?? 0) + d); total += d; }
// parent links for inclusive stage attribution
const parent = new Map();
for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const key = (n) => `${n.callFrame.functionName || '(anon)'} ${n.callFrame.url.replace(/.*\/work\/main\//, '').replace(/^file:\/\//, '')}:${n.callFrame.lineNumber + 1}`;
for (const [id, us] of counts) { const k = key(byId.get(id)); self.set(k, (self.get(k) ?? 0) + us); }
const top = [...self].sort((a, b) => b[1] - a[1]).slice(0, +(process.argv[3] ?? 25));
console.log(`${f.split('/').pop()} total ${(total / 1e6).toFixed(1)} s sampled`);
const idle = [...self].filter(([k]) => /^\(idle\)|^\(program\)|^\(garbage/.test(k));
for (const [k, us] of idle) console.log(`  ${(100 * us / total).toFixed(1).padStart(5)}%  ${k}`);
for (const [k, us] of top) console.log(`  ${(100 * us / total).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(6)} ms  ${k}`);
// stage attribution: walk up the stack, first matching rule wins (innermost-out)
const rules = JSON.parse(process.argv[4] ?? '[]');
if (rules.length) {
  const stage = new Map();
  const busy = total - idle.filter(([k]) => /idle/.test(k)).reduce((a, [, v]) => a + v, 0);
  for (const [id, us] of counts) {
    let cur = id, s = null;
    const frames = [];
    while (cur !== undefined) { const n = byId.get(cur); frames.push(key(n)); cur = parent.get(cur); }
    if (/^\(idle\)/.test(frames[0])) continue;
    for (const fr of frames) { for (const [name, re] of rules) if (new RegExp(re).test(fr)) { s = name; break; } if (s) break; }
    s ??= 'other';
    stage.set(s, (stage.get(s) ?? 0) + us);
  }
  console.log(`  stages (% of non-idle ${(busy / 1e6).toFixed(1)} s):`);
  for (const [k, us] of [...stage].sort((a, b) => b[1] - a[1])) console.log(`    ${(100 * us / busy).toFixed(1).padStart(5)}%  ${k}`);
}
