// Joins the soak's late calls to what held a thread while each was late (bench/soak.ts writes the inputs: the
// threads' stalls and collections in stalls.jsonl, gateway/ops/stallRecorder.ts; the attacks' spans, the host's CPU
// per second and each late call's span in timeline.json). Per late call: how long the gateway's main thread, its
// busiest worker and the soak's own loop were stalled inside the call's span (and how much of that was collection),
// which attacks were running, and what other work took the host's cores. Overall: which attacks run during the
// main thread's stalls more often than they run at all (their share of stalled time against their share of time).
//
//   npx tsx bench/stallJoin.ts DIR     (a soak's --out directory)
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { StallLine } from '../gateway/ops/stallRecorder.js';

export interface HostSample {
  /** ms since the epoch */
  t: number;
  /** Cumulative CPU, ms: the whole host's busy time, the gateway's process tree, this soak. */
  hostBusyMs: number;
  gatewayCpuMs: number;
  selfCpuMs: number;
}
export interface AttackSpan {
  kind: string;
  from: number;
  to: number;
}
export interface LateCall {
  scenarioId: string;
  why: string;
  window: number;
  from: number;
  to: number;
}

export interface CallAttribution extends LateCall {
  /** ms of the span during which the thread was stalled; the longest stall touching it; ms of collections in it. */
  /** runMs / waitMs: of the stalls touching the span, the time the thread was on a core / waiting for one. */
  main: { stalledMs: number; maxMs: number; gcMs: number; majorGcMs: number; runMs: number; waitMs: number };
  /** The worker thread stalled longest inside the span. */
  worker: { thread: string | null; stalledMs: number; maxMs: number; gcMs: number };
  soak: { stalledMs: number; maxMs: number };
  attacks: string[];
  /** Other work on the host over the seconds around the span, % of one core (neither the gateway nor the soak). */
  otherCpuPct: number | null;
  /** The largest of the three; 'none' when no thread stalled ≥ 10 ms in the span. */
  cause: 'gateway main' | 'gateway worker' | 'soak loop' | 'none';
}

export interface AttackShare {
  kind: string;
  /** Fraction of the run this attack was running. */
  timeShare: number;
  /** Fraction of the main thread's stalled time (stalls ≥ minMs) during which it was running. */
  stallShare: number;
  /** Main-thread stalled ms per second while it ran, and while it did not. */
  stallMsPerSOn: number;
  stallMsPerSOff: number;
}

export interface Attribution {
  calls: CallAttribution[];
  byCause: Record<string, number>;
  attacks: AttackShare[];
  /** Main-thread stalls: count, ms, and the collections' part (ms, of which major). */
  mainStalls: { n: number; ms: number; gcMs: number; majorGcMs: number; over50: number; runMs: number; waitMs: number };
}

const overlap = (a0: number, a1: number, b0: number, b1: number) => Math.max(0, Math.min(a1, b1) - Math.max(a0, b0));

/** A stall line's span. */
const spanOf = (s: StallLine) => [s.t, s.t + s.ms] as const;

function threadFigures(lines: StallLine[], from: number, to: number) {
  let stalledMs = 0;
  let maxMs = 0;
  let gcMs = 0;
  let majorGcMs = 0;
  let runMs = 0;
  let waitMs = 0;
  for (const s of lines) {
    const [a, b] = spanOf(s);
    const o = overlap(a, b, from, to);
    if (o <= 0) continue;
    if (s.ev === 'stall') {
      stalledMs += o;
      maxMs = Math.max(maxMs, s.ms);
      runMs += s.run ?? 0;
      waitMs += s.wait ?? 0;
    } else {
      gcMs += o;
      if (s.kind === 'major' || s.kind === 'incremental') majorGcMs += o;
    }
  }
  return { stalledMs: Math.round(stalledMs), maxMs: Math.round(maxMs), gcMs: Math.round(gcMs), majorGcMs: Math.round(majorGcMs), runMs: Math.round(runMs), waitMs: Math.round(waitMs) };
}

function otherCpu(host: HostSample[], from: number, to: number): number | null {
  // The samples bracketing the span, widened to at least two seconds.
  const a = [...host].reverse().find((h) => h.t <= from - 500) ?? host[0];
  const b = host.find((h) => h.t >= to + 500) ?? host[host.length - 1];
  if (!a || !b || b.t <= a.t) return null;
  const other = b.hostBusyMs - a.hostBusyMs - (b.gatewayCpuMs - a.gatewayCpuMs) - (b.selfCpuMs - a.selfCpuMs);
  return Math.max(0, Math.round((100 * other) / (b.t - a.t)));
}

/** Joins late calls to the stalls in their spans, and the main thread's stalls to the attacks running then. */
export function attribute(stalls: StallLine[], attacks: AttackSpan[], host: HostSample[], late: LateCall[], minMs = 10): Attribution {
  const by = (th: string) => stalls.filter((s) => s.th === th);
  const main = by('main');
  const soak = by('soak');
  const workers = [...new Set(stalls.map((s) => s.th).filter((t) => t !== 'main' && t !== 'soak'))];
  const calls = late.map((c): CallAttribution => {
    const m = threadFigures(main, c.from, c.to);
    let worker: CallAttribution['worker'] = { thread: null, stalledMs: 0, maxMs: 0, gcMs: 0 };
    for (const w of workers) {
      const f = threadFigures(by(w), c.from, c.to);
      if (f.stalledMs > worker.stalledMs) worker = { thread: w, stalledMs: f.stalledMs, maxMs: f.maxMs, gcMs: f.gcMs };
    }
    const s = threadFigures(soak, c.from, c.to);
    const ranked = [
      ['gateway main', m.stalledMs],
      ['gateway worker', worker.stalledMs],
      ['soak loop', s.stalledMs],
    ] as const;
    const top = [...ranked].sort((x, y) => y[1] - x[1])[0];
    return {
      ...c,
      main: m,
      worker,
      soak: { stalledMs: s.stalledMs, maxMs: s.maxMs },
      attacks: [...new Set(attacks.filter((a) => overlap(a.from, a.to, c.from, c.to) > 0).map((a) => a.kind))].sort(),
      otherCpuPct: otherCpu(host, c.from, c.to),
      cause: top[1] >= minMs ? top[0] : 'none',
    };
  });
  const byCause: Record<string, number> = {};
  for (const c of calls) byCause[c.cause] = (byCause[c.cause] ?? 0) + 1;

  // Over the measured run only (the host's samples span it), not the gateway's start-up.
  const inRun = (t: number) => !host.length || (t >= host[0].t && t <= host[host.length - 1].t);
  const mainStalls = main.filter((s) => s.ev === 'stall' && s.ms >= minMs && inRun(s.t));
  const gcs = main.filter((s) => s.ev === 'gc');
  let gcIn = 0;
  let majorIn = 0;
  for (const s of mainStalls) {
    for (const g of gcs) {
      const o = overlap(s.t, s.t + s.ms, g.t, g.t + g.ms);
      gcIn += o;
      if (g.kind === 'major' || g.kind === 'incremental') majorIn += o;
    }
  }
  const t0 = host.length ? host[0].t : Math.min(...stalls.map((s) => s.t), ...attacks.map((a) => a.from));
  const t1 = host.length ? host[host.length - 1].t : Math.max(...stalls.map((s) => s.t + s.ms), ...attacks.map((a) => a.to));
  const total = Math.max(1, t1 - t0);
  const stalledTotal = mainStalls.reduce((a, s) => a + s.ms, 0);
  const kinds = [...new Set(attacks.map((a) => a.kind))].sort();
  const shares = kinds.map((kind): AttackShare => {
    const spans = attacks.filter((a) => a.kind === kind);
    // Spans of one kind may overlap (two lanes): merge them so time is not counted twice.
    const merged: [number, number][] = [];
    for (const a of [...spans].sort((x, y) => x.from - y.from)) {
      const last = merged[merged.length - 1];
      if (last && a.from <= last[1]) last[1] = Math.max(last[1], a.to);
      else merged.push([a.from, a.to]);
    }
    const on = merged.reduce((acc, [a, b]) => acc + (b - a), 0);
    let stalledOn = 0;
    for (const s of mainStalls) for (const [a, b] of merged) stalledOn += overlap(s.t, s.t + s.ms, a, b);
    return {
      kind,
      timeShare: round3(on / total),
      stallShare: stalledTotal ? round3(stalledOn / stalledTotal) : 0,
      stallMsPerSOn: on ? Math.round((1000 * stalledOn) / on * 10) / 10 : 0,
      stallMsPerSOff: total - on > 0 ? Math.round((1000 * (stalledTotal - stalledOn)) / (total - on) * 10) / 10 : 0,
    };
  });
  shares.sort((a, b) => b.stallMsPerSOn - b.stallMsPerSOff - (a.stallMsPerSOn - a.stallMsPerSOff));
  return {
    calls,
    byCause,
    attacks: shares,
    mainStalls: {
      n: mainStalls.length, ms: Math.round(stalledTotal), gcMs: Math.round(gcIn), majorGcMs: Math.round(majorIn), over50: mainStalls.filter((s) => s.ms >= 50).length,
      runMs: Math.round(mainStalls.reduce((a, s) => a + (s.run ?? 0), 0)), waitMs: Math.round(mainStalls.reduce((a, s) => a + (s.wait ?? 0), 0)),
    },
  };
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;

export function printAttribution(a: Attribution, out: (line: string) => void, maxCalls = Infinity): void {
  const ms = a.mainStalls;
  out(`stalls: gateway main thread ${ms.n} stalls ≥ 10 ms (${ms.over50} ≥ 50 ms), ${ms.ms} ms in all, ${ms.gcMs} ms of it in collections (${ms.majorGcMs} ms major/incremental); on a core ${ms.runMs} ms, waiting for one ${ms.waitMs} ms`);
  out(`stalls: late calls by the thread stalled longest in their span: ${Object.entries(a.byCause).map(([k, v]) => `${k} ${v}`).join(', ') || 'none late'}`);
  // The first 40: the rest are in timeline.json (bench/stallJoin.ts DIR prints them all).
  for (const c of a.calls.slice(0, maxCalls)) {
    out(
      `stalls:   ${c.scenarioId} (w${c.window + 1}) ${c.why.split(' (')[0]}: main ${c.main.stalledMs} ms (max ${c.main.maxMs}, run ${c.main.runMs}, wait ${c.main.waitMs}, gc ${c.main.gcMs}, major ${c.main.majorGcMs}), ` +
        `worker ${c.worker.thread ?? '-'} ${c.worker.stalledMs} ms (max ${c.worker.maxMs}, gc ${c.worker.gcMs}), soak ${c.soak.stalledMs} ms; other cpu ${c.otherCpuPct ?? '?'} %; attacks ${c.attacks.join(' ') || '-'}`,
    );
  }
  out('stalls: main-thread stalled ms per second with each attack running vs not (time share → share of stalled time):');
  for (const s of a.attacks) out(`stalls:   ${s.kind}: ${s.stallMsPerSOn} vs ${s.stallMsPerSOff} ms/s (${(s.timeShare * 100).toFixed(1)} % of time → ${(s.stallShare * 100).toFixed(1)} % of stalled time)`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const dir = process.argv[2];
  if (!dir) {
    console.error('usage: npx tsx bench/stallJoin.ts SOAK_OUT_DIR');
    process.exit(2);
  }
  const stalls = readFileSync(join(dir, 'stalls.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as StallLine);
  const t = JSON.parse(readFileSync(join(dir, 'timeline.json'), 'utf8')) as { attacks: AttackSpan[]; host: HostSample[]; lateCalls: LateCall[] };
  printAttribution(attribute(stalls, t.attacks, t.host, t.lateCalls), console.log);
}
