// `npm run soak -- --minutes N`: the gateway (started as production starts it, with an API token) carries 50
// normal calls (barge-in and consent scenarios at real time, looping) for N minutes while abusive clients run the
// attacks of issue #13 beside them without pause (bench/attacks.ts, in a worker thread). Reported per window: the
// gateway's RSS and event-loop lag, the normal calls' latencies (p50/p95/max) and every normal call that missed a
// budget, and what each attack got. Fails (exit 1) when RSS grows more than 20 % from the first window to the
// last, when a normal call misses its budget, or when an attack is not answered with a clear error or a close.
//
// Each stall of the gateway's threads (main, listen and ASR workers: EARSHOT_STALL_LOG, gateway/ops/stallRecorder.ts)
// and of the soak's own loop is written with its time to DIR/stalls.jsonl, each attack's span, the host's CPU per
// second and every late call's span to DIR/timeline.json; bench/stallJoin.ts joins them (printed at the end).
//
//   npm run soak -- --minutes 10 [--calls 50] [--rate 16k|8k] [--window 60] [--parallel 2] [--no-abuse] [--no-stalls] [--config-json JSON] [--out DIR]
//   --config-json merges gateway configuration into the soak's (an A/B of a limit: '{"limits":{"maxStartMessageBytes":3145728}}').
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import YAML from 'yaml';
import { attacks, judge } from './attacks.js';
import { loadBudgets } from './budgets.js';
import { computeMetrics, decisionTail, frameDecisions, summaries, type LatencyMetric } from './metrics.js';
import { ProcSampler } from './procSampler.js';
import { uploadPrompts } from './prompts.js';
import { LagScraper } from './promScrape.js';
import { runStep } from './loadGenerator.js';
import type { CallRecord } from './record.js';
import { loadScenarios, shuffled, wireAudioFor, type ScenarioKind } from './scenarios.js';
import { freePort, startServer } from './serverProcess.js';
import { gatewayNodeArgs } from './productionStart.js';
import { httpBase } from './wires/control.js';
import { getWire } from './wires/index.js';
import { StallRecorder } from '../gateway/ops/stallRecorder.js';
import { attribute, printAttribution, type HostSample, type LateCall } from './stallJoin.js';
import { labeller, parseSamples, printWhoRan } from './threadJoin.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BENCH_POLICY_CLOCK = 'fixed:2026-01-14T02:00:00Z';
const TOKEN = 'soak-token';
/** RSS may grow this much from the first window to the last. */
const MAX_RSS_GROWTH = 0.2;
/** Per-call latency limits: each normal call against the bench's budget values (bench/budgets.json). */
const PER_CALL: LatencyMetric[] = ['pauseMs', 'pauseWallMs', 'bargeInMs', 'bargeInWallMs', 'stopMs', 'consentMs', 'consentWallMs', 'firstAudioMs'];

interface Window {
  index: number;
  endS: number;
  rssMB: number | null;
  lagP99Ms: number | null;
  lagMaxMs: number | null;
  /** The soak's own event loop (it sends the normal calls' frames and stamps their events): p99 and max, ms. */
  genLagP99Ms: number | null;
  genLagMaxMs: number | null;
  /** CPU over the window, % of one core: the gateway (its process tree), and everything else on the host that is neither it nor this soak. */
  gatewayCpuPct: number | null;
  foreignCpuPct: number | null;
  calls: number;
  failed: number;
  latency: Record<string, { p50: number | null; p95: number | null; max: number | null }>;
  missedBudget: { scenarioId: string; why: string; atS: number }[];
  attacks: Record<string, { runs: number; unexpected: number }>;
  decisionDelayMs: ReturnType<typeof decisionTail>;
}

/** The host's busy CPU time so far, ms (all cores, from /proc/stat). */
function hostBusyMs(): number {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal: busy is all but idle and iowait.
  return ((f[0] + f[1] + f[2] + f[5] + f[6] + (f[7] ?? 0)) * 1000) / 100;
}

/** Why one normal call missed its budget, or null. */
function callMiss(rec: CallRecord, budgets: ReturnType<typeof loadBudgets>): string | null {
  if (!rec.ok) return `failed: ${rec.error ?? 'unknown'}`;
  const m = computeMetrics([rec]);
  const c = m.counters;
  if (c.falseBargeIns || c.missedBargeIns || c.earlyBargeIns || c.missedPauses) return `barge-in: false ${c.falseBargeIns} missed ${c.missedBargeIns} early ${c.earlyBargeIns} missed pause ${c.missedPauses}`;
  if (c.errorEvents) return `error events: ${Object.keys(m.errors).join(', ')}`;
  for (const k of PER_CALL) {
    const limit = budgets[k]?.p95;
    const over = m.samples[k].find((v) => limit !== undefined && v > limit);
    if (over !== undefined) return `${k} ${Math.round(over)} > ${limit}${detail(rec, m)}`;
  }
  return null;
}

/** Where a late call's time went: the audio clock beside the wall, and for consent the VAD's end of speech. */
function detail(rec: CallRecord, m: ReturnType<typeof computeMetrics>): string {
  const r = (x: number | undefined) => (x === undefined ? '?' : Math.round(x));
  if (rec.kind === 'bargein') return ` (pause audio ${r(m.samples.pauseMs[0])} / wall ${r(m.samples.pauseWallMs[0])}, barge-in audio ${r(m.samples.bargeInMs[0])} / wall ${r(m.samples.bargeInWallMs[0])})`;
  const ev = rec.events.find((e) => e.type === 'consent');
  if (!ev || rec.endMs === null || typeof ev.t !== 'number') return '';
  const end = typeof ev.speechEndT === 'number' ? ev.speechEndT : undefined;
  // speechEndT is where the gateway placed the end of the answer (its VAD end minus the end silence it waited for).
  return ` (VAD end ${end === undefined ? '?' : r(end - rec.endMs)} ms after the label, decided ${end === undefined ? '?' : r(ev.t - end)} ms after it; wall ${r(m.samples.consentWallMs[0])})`;
}

/** Where a late call's latency was spent, soak clock: from the audio it answers leaving to the answer's arrival. */
function lateSpan(rec: CallRecord, why: string): { from: number; to: number } {
  const sent = (ms: number | null) => (ms === null ? undefined : rec.frameSentAt[Math.floor(ms / 20)]);
  const arrived = (type: string) => rec.events.find((e) => e.type === type)?.wall;
  const end = Math.max(rec.startedAt, ...rec.events.map((e) => e.wall));
  if (why.startsWith('firstAudioMs') && rec.playSentAt !== null && rec.promptFrames.length) return { from: rec.playSentAt, to: rec.promptFrames[0] };
  if (rec.kind === 'bargein') {
    const from = sent(rec.onsetMs);
    const to = Math.max(arrived('prompt_paused') ?? 0, arrived('barge_in') ?? 0);
    if (from !== undefined && to > from) return { from, to };
    if (rec.playSentAt !== null && rec.promptFrames.length) return { from: rec.playSentAt, to: rec.promptFrames[0] };
  } else {
    const from = sent(rec.endMs);
    const to = arrived('consent');
    if (from !== undefined && to !== undefined) return { from, to };
  }
  return { from: rec.startedAt, to: end };
}

function readStalls(file: string) {
  try {
    return readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
  } catch {
    return [];
  }
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: process.argv.slice(2).filter((a) => a !== '--'),
    options: {
      minutes: { type: 'string' }, calls: { type: 'string' }, rate: { type: 'string' }, window: { type: 'string' },
      parallel: { type: 'string' }, 'no-abuse': { type: 'boolean' }, 'no-stalls': { type: 'boolean' }, 'config-json': { type: 'string' }, out: { type: 'string' }, seed: { type: 'string' },
    },
  });
  const minutes = Number(values.minutes ?? 10);
  const calls = Number(values.calls ?? 50);
  const rate = values.rate === '8k' ? 8000 : 16000;
  const windowS = Number(values.window ?? 60);
  const parallel = Number(values.parallel ?? 2);
  const abuse = !values['no-abuse'];
  if (!(minutes > 0) || !(calls > 0) || !(windowS >= 10) || !(parallel >= 1)) throw new Error('--minutes, --calls > 0, --window ≥ 10, --parallel ≥ 1');
  const outDir = resolve(values.out ?? join(ROOT, 'bench', 'results', `soak-${new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19)}`));
  mkdirSync(outDir, { recursive: true });

  const budgets = loadBudgets(join(ROOT, 'bench', 'budgets.json'));
  const audio = wireAudioFor(rate);
  const scenariosDir = resolve(ROOT, '..', 'shared', 'audio');
  const scenarios = loadScenarios(scenariosDir, ['bargein', 'consent'], audio, null, 'library');
  const byKind = (['bargein', 'consent'] as ScenarioKind[]).map((k) => shuffled(scenarios.filter((s) => s.kind === k), Number(values.seed ?? 1))).filter((l) => l.length);

  // The gateway as production runs it (node --import tsx gateway/main.ts), with a token and default limits.
  const cfgFile = join(outDir, 'gateway-config.yaml');
  const extra = values['config-json'] ? (JSON.parse(values['config-json']) as Record<string, unknown>) : {};
  writeFileSync(cfgFile, YAML.stringify({ ...extra, dataDir: join(outDir, 'gateway-data'), policy: { clock: BENCH_POLICY_CLOCK } }));
  const grpcPort = await freePort();
  const audiosocketPort = await freePort();
  delete process.env.EARSHOT_DATA_DIR;
  const gw = await startServer({
    name: 'gateway', entry: 'gateway/main.ts', cwd: ROOT, portEnv: 'EARSHOT_PORT', logFile: join(outDir, 'gateway.log'),
    env: { ...(values['no-stalls'] ? {} : { EARSHOT_STALL_LOG: join(outDir, 'stalls.jsonl') }), EARSHOT_CONFIG: cfgFile, EARSHOT_API_TOKEN: TOKEN, EARSHOT_LOG_LEVEL: 'warn', EARSHOT_GRPC_PORT: String(grpcPort), EARSHOT_AUDIOSOCKET_PORT: String(audiosocketPort) },
    // Production's flags (the Dockerfile CMD), then BENCH_GATEWAY_NODE_ARGS as for the bench: e.g. "--cpu-prof
    // --cpu-prof-dir=DIR" to see what holds the gateway's event loop.
    nodeArgs: gatewayNodeArgs(),
  });
  const http = httpBase(gw.wsUrl);
  console.log(`soak: gateway pid ${gw.pid} on ${gw.port}; ${calls} normal calls for ${minutes} min, ${abuse ? `${parallel} abusive client(s) at a time` : 'no abuse'}; out ${outDir}`);
  await uploadPrompts(http, TOKEN, scenariosDir, scenarios);

  const sampler = new ProcSampler(gw.pid);
  sampler.start();
  const lag = new LagScraper(`${http}/metrics?token=${TOKEN}`);
  lag.start();
  // A wall latency is stamped here, on arrival: a late stamp from this process's own loop is not the gateway's.
  const genLag: { wall: number; p99Ms: number; maxMs: number }[] = [];
  const genHist = monitorEventLoopDelay({ resolution: 10 });
  genHist.enable();
  // The same, timestamped, beside the gateway's threads in stalls.jsonl.
  const selfStalls = values['no-stalls'] ? null : new StallRecorder({ file: join(outDir, 'stalls.jsonl'), thread: 'soak' }).start();
  const epoch = (x: number) => performance.timeOrigin + x;
  // The host's CPU each second (busy, the gateway's, this soak's), so that a late call can be set beside other work.
  const host: HostSample[] = [];
  // Every thread's on-core time every 20 ms (the gateway's and this soak's), to say who held the cores in a stall.
  const threads = values['no-stalls']
    ? null
    : new Worker(new URL('../gateway/infer/worker-entry.mjs', import.meta.url), {
        workerData: { __entry: new URL('./threadSampler.worker.ts', import.meta.url).href, pids: [gw.pid, process.pid], file: join(outDir, 'threads.jsonl'), intervalMs: 20 },
      });
  const hostTimer = setInterval(() => {
    const cu = process.cpuUsage();
    host.push({ t: Date.now(), hostBusyMs: hostBusyMs(), gatewayCpuMs: sampler.samples[sampler.samples.length - 1]?.cpuMs ?? 0, selfCpuMs: (cu.user + cu.system) / 1000 });
  }, 1000);
  const genTimer = setInterval(() => {
    genLag.push({ wall: performance.now(), p99Ms: Math.max(0, genHist.percentile(99) / 1e6 - 10), maxMs: Math.max(0, genHist.max / 1e6 - 10) });
    genHist.reset();
  }, 2000);

  // An hour of silence in a small FLAC for the upload attack.
  const flac = join(outDir, 'hour.flac');
  execFileSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'anullsrc=r=8000:cl=mono', '-t', '3600', '-c:a', 'flac', flac]);

  const attackLog: { at: number; kind: string; unexpected: string | null; ms: number }[] = [];
  /** Each attack's span, ms since the epoch (its start is its end minus its duration, as the abuser timed it). */
  const attackSpans: { kind: string; from: number; to: number }[] = [];
  const lateCalls: LateCall[] = [];
  let abuser: Worker | null = null;
  let t0 = performance.now();
  if (abuse) {
    abuser = new Worker(new URL('../gateway/infer/worker-entry.mjs', import.meta.url), {
      workerData: {
        __entry: new URL('./soakAbuser.worker.ts', import.meta.url).href,
        args: { url: `${gw.wsUrl}/v1/stream`, token: TOKEN, grpcPort, audiosocketPort, uploadFile: flac, protoDir: join(ROOT, 'proto') },
        parallel, pauseMs: 200, kinds: Object.keys(attacks),
      },
    });
    abuser.on('message', (m: { kind?: string; ok?: boolean; ms?: number; result?: Record<string, unknown>; error?: string }) => {
      if (!m.kind) return;
      const unexpected = m.ok ? judge(m.kind, m.result!) : `attack failed: ${m.error}`;
      attackLog.push({ at: performance.now() - t0, kind: m.kind, unexpected, ms: m.ms ?? 0 });
      attackSpans.push({ kind: m.kind, from: Date.now() - (m.ms ?? 0), to: Date.now() });
      if (unexpected) console.warn(`soak: ${m.kind} got an unexpected answer: ${unexpected}`);
    });
    abuser.on('error', (e) => console.error(`soak: abuser failed: ${e.message}`));
    // The abuser loads its modules (tsx, ws, gRPC's proto) before the clock starts: ~0.5 s of one core that is this
    // harness's start-up, not an attack, and in run 19 it ran beside the first calls on the same 2 cores.
    const a = abuser;
    await new Promise<void>((resolve, reject) => {
      a.on('message', (m: { ready?: boolean }) => m.ready && resolve());
      a.once('error', reject);
    });
    t0 = performance.now();
    a.postMessage('go');
  }

  const windows: Window[] = [];
  const allRecords: CallRecord[] = [];
  const nWindows = Math.max(1, Math.round((minutes * 60) / windowS));
  // Other work on the host (another run, a compiler) takes the same cores: measured, so a late window can be read.
  const cpuMark = () => ({ host: hostBusyMs(), gateway: sampler.samples[sampler.samples.length - 1]?.cpuMs ?? 0, self: (process.cpuUsage().user + process.cpuUsage().system) / 1000, wall: performance.now() });
  let mark = cpuMark();
  for (let w = 0; w < nWindows; w++) {
    const ws0 = performance.now() - t0;
    const outcome = await runStep({
      calls, durationMs: windowS * 1000, staggerMs: w === 0 ? 5000 : 0, wire: getWire('ws'), url: gw.wsUrl, token: TOKEN, audio, byKind,
      sendPrompts: true, label: `w${w}`,
    });
    const endS = (performance.now() - t0) / 1000;
    const now = cpuMark();
    const span = Math.max(1, now.wall - mark.wall);
    const gatewayCpuPct = Math.round((100 * (now.gateway - mark.gateway)) / span);
    const foreignCpuPct = Math.max(0, Math.round((100 * (now.host - mark.host - (now.gateway - mark.gateway) - (now.self - mark.self))) / span));
    mark = now;
    allRecords.push(...outcome.records);
    const m = computeMetrics(outcome.records);
    const s = summaries(m);
    const inWindow = (x: { wall: number }) => x.wall - t0 >= ws0 && x.wall - t0 <= endS * 1000;
    const lags = lag.samples.filter(inWindow);
    const gLags = genLag.filter(inWindow);
    const rss = sampler.samples.filter(inWindow).map((x) => x.rssMB).sort((a, b) => a - b);
    const byAttack: Window['attacks'] = {};
    for (const a of attackLog.filter((x) => x.at >= ws0 && x.at <= endS * 1000)) {
      byAttack[a.kind] ??= { runs: 0, unexpected: 0 };
      byAttack[a.kind].runs++;
      if (a.unexpected) byAttack[a.kind].unexpected++;
    }
    const missed = outcome.records
      .map((r) => ({ scenarioId: r.scenarioId, why: callMiss(r, budgets), atS: Math.round((r.startedAt - t0) / 100) / 10 }))
      .filter((x): x is { scenarioId: string; why: string; atS: number } => x.why !== null);
    for (const x of missed) {
      const rec = outcome.records.find((r) => r.scenarioId === x.scenarioId && Math.round((r.startedAt - t0) / 100) / 10 === x.atS)!;
      const sp = lateSpan(rec, x.why);
      lateCalls.push({ scenarioId: x.scenarioId, why: x.why, window: w, from: epoch(sp.from), to: epoch(sp.to) });
    }
    const win: Window = {
      index: w, endS: Math.round(endS),
      rssMB: rss.length ? Math.round(rss[rss.length >> 1]) : null,
      lagP99Ms: lags.length ? Math.max(...lags.map((l) => l.p99Ms ?? 0)) : null,
      lagMaxMs: lags.length ? Math.max(...lags.map((l) => l.maxMs ?? 0)) : null,
      genLagP99Ms: gLags.length ? Math.round(Math.max(...gLags.map((l) => l.p99Ms))) : null,
      genLagMaxMs: gLags.length ? Math.round(Math.max(...gLags.map((l) => l.maxMs))) : null,
      gatewayCpuPct, foreignCpuPct,
      calls: outcome.records.length, failed: m.counters.failedCalls,
      latency: Object.fromEntries(PER_CALL.map((k) => [k, { p50: s[k].p50, p95: s[k].p95, max: s[k].max }])),
      missedBudget: missed, attacks: byAttack,
      decisionDelayMs: decisionTail(m.samples.decisionDelayMs),
    };
    windows.push(win);
    const L = win.latency;
    console.log(
      `soak: window ${w + 1}/${nWindows} (${win.endS} s): rss ${win.rssMB} MB, lag p99 ${win.lagP99Ms?.toFixed(1)} max ${win.lagMaxMs?.toFixed(1)} ms (soak's own loop: max ${win.genLagMaxMs} ms), cpu gateway ${win.gatewayCpuPct} % other ${win.foreignCpuPct} %, ${win.calls} calls (${win.failed} failed, ${missed.length} over budget); ` +
        `pause wall p95 ${L.pauseWallMs.p95} max ${L.pauseWallMs.max}, decisions over 30 ms ${win.decisionDelayMs.over30} of ${win.decisionDelayMs.n} (max ${win.decisionDelayMs.max}), barge-in wall p95 ${L.bargeInWallMs.p95}, consent wall p95 ${L.consentWallMs.p95}, first audio p95 ${L.firstAudioMs.p95}; ` +
        `attacks ${Object.values(byAttack).reduce((a, x) => a + x.runs, 0)} (${Object.values(byAttack).reduce((a, x) => a + x.unexpected, 0)} unexpected)`,
    );
    for (const x of missed.slice(0, 5)) console.log(`soak:   over budget: ${x.scenarioId} (started at ${x.atS} s): ${x.why}`);
  }

  abuser?.postMessage('stop');
  await new Promise((r) => setTimeout(r, 1000));
  await abuser?.terminate();
  sampler.stop();
  lag.stop();
  clearInterval(genTimer);
  clearInterval(hostTimer);
  selfStalls?.stop();
  if (threads) {
    threads.postMessage('stop');
    await Promise.race([new Promise((r) => threads.once('message', r)), new Promise((r) => setTimeout(r, 2000))]);
    await threads.terminate();
  }
  const health = await fetch(`${http}/healthz`).then((r) => r.status, () => 0);
  await gw.stop();

  const first = windows[0].rssMB ?? 0;
  const last = windows[windows.length - 1].rssMB ?? 0;
  const growth = first ? last / first - 1 : 0;
  const missedTotal = windows.reduce((a, w) => a + w.missedBudget.length, 0);
  const callsTotal = windows.reduce((a, w) => a + w.calls, 0);
  const unexpected = attackLog.filter((a) => a.unexpected);
  // The whole run at a glance: RSS of the gateway's process tree (first and last sample, max), the event loop's lag
  // (prom-client's p50 and p99 per 2 s scrape: the median of the p50s, and the p50/p95/p99 of the p99s), and the
  // normal calls' latencies over every window.
  const rssAll = sampler.samples.map((x) => x.rssMB);
  const pct = (xs: number[], q: number): number | null => {
    if (!xs.length) return null;
    const v = [...xs].sort((a, b) => a - b);
    return Math.round(v[Math.min(v.length - 1, Math.floor(q * v.length))] * 10) / 10;
  };
  const lagP50s = lag.samples.map((l) => l.p50Ms).filter((x): x is number => typeof x === 'number');
  const lagP99s = lag.samples.map((l) => l.p99Ms).filter((x): x is number => typeof x === 'number');
  const allMetrics = computeMetrics(allRecords);
  const overall = summaries(allMetrics);
  const summary = {
    rssMB: { start: rssAll.length ? Math.round(rssAll[0]) : null, end: rssAll.length ? Math.round(rssAll[rssAll.length - 1]) : null, max: rssAll.length ? Math.round(Math.max(...rssAll)) : null },
    generatorLagMs: { p99: pct(genLag.map((l) => l.p99Ms), 0.99), max: genLag.length ? Math.round(Math.max(...genLag.map((l) => l.maxMs))) : null },
    eventLoopLagMs: { intervalP50: pct(lagP50s, 0.5), intervalP99: { p50: pct(lagP99s, 0.5), p95: pct(lagP99s, 0.95), p99: pct(lagP99s, 0.99) }, max: lag.samples.length ? Math.max(...lag.samples.map((l) => l.maxMs ?? 0)) : null, scrapes: lag.samples.length },
    latencyMs: Object.fromEntries(PER_CALL.map((k) => [k, { n: overall[k].n, p50: overall[k].p50, p95: overall[k].p95, p99: overall[k].p99, max: overall[k].max }])),
    decisionDelayMs: decisionTail(allMetrics.samples.decisionDelayMs),
  };
  const report = { minutes, calls, rate, windowS, abuse, configJson: values['config-json'] ?? null, windows, rss: { firstMB: first, lastMB: last, growth }, summary, callsTotal, missedTotal, attacks: attackLog.length, unexpectedAttacks: unexpected.length, healthAtEnd: health };
  writeFileSync(join(outDir, 'soak.json'), JSON.stringify(report, null, 2));
  const sl = summary.eventLoopLagMs;
  console.log(`soak: RSS samples start ${summary.rssMB.start} end ${summary.rssMB.end} max ${summary.rssMB.max} MB; event-loop lag per scrape: p50 ${sl.intervalP50} ms, p99 p50/p95/p99 ${sl.intervalP99.p50}/${sl.intervalP99.p95}/${sl.intervalP99.p99} ms, max ${sl.max} ms`);
  for (const k of PER_CALL) console.log(`soak:   ${k}: n ${summary.latencyMs[k].n} p50 ${summary.latencyMs[k].p50} p95 ${summary.latencyMs[k].p95} p99 ${summary.latencyMs[k].p99} max ${summary.latencyMs[k].max}`);
  const dd = summary.decisionDelayMs;
  console.log(`soak:   decision delay (packet sent → event, every frame decision): n ${dd.n} p50 ${dd.p50} p99 ${dd.p99} p99.9 ${dd.p999} max ${dd.max} ms; over 20 ms ${dd.over20}, over 30 ms ${dd.over30}`);
  const foreign = windows.map((w) => w.foreignCpuPct ?? 0);
  console.log(`soak: other work on the host per window, % of one core: ${foreign.join(' ')} (calls over budget per window: ${windows.map((w) => w.missedBudget.length).join(' ')})`);
  console.log(`soak: RSS ${first} → ${last} MB (${(growth * 100).toFixed(1)} %, limit ${MAX_RSS_GROWTH * 100} %); ${callsTotal} normal calls, ${missedTotal} over budget; ${attackLog.length} attacks, ${unexpected.length} answered unexpectedly; /healthz at the end ${health}`);
  const failures = [
    growth > MAX_RSS_GROWTH ? `RSS grew ${(growth * 100).toFixed(1)} %` : null,
    missedTotal ? `${missedTotal} normal call(s) missed a budget` : null,
    unexpected.length ? `${unexpected.length} attack(s) not answered with a clear error or a close` : null,
    health !== 200 ? `/healthz answered ${health}` : null,
  ].filter(Boolean);
  if (!values['no-stalls']) {
    // Decisions past 20 ms, to set beside the threads' stalls as late calls are (the first 2,000).
    const slowDecisions = allRecords.flatMap((r) => frameDecisions(r).filter((d) => d.wall - d.sent > 20).map((d) => ({ scenarioId: r.scenarioId, type: d.type, from: epoch(d.sent), to: epoch(d.wall) }))).slice(0, 2000);
    // The gateway's RSS at each sample, to set beside its collections (a heap that fills and empties, or one that grows).
    const rss = sampler.samples.map((x) => ({ t: Math.round(epoch(x.wall)), mb: Math.round(x.rssMB) }));
    writeFileSync(join(outDir, 'timeline.json'), JSON.stringify({ attacks: attackSpans, host, lateCalls, slowDecisions, rss }));
    // The gateway's recorders flush once a second: its last lines are out once it has stopped (above).
    const stalls = readStalls(join(outDir, 'stalls.jsonl'));
    printAttribution(attribute(stalls, attackSpans, host, lateCalls), (l) => console.log(`soak: ${l}`), 40);
    const samples = parseSamples(readFileSync(join(outDir, 'threads.jsonl'), 'utf8'));
    const label = labeller(stalls, gw.pid, process.pid);
    printWhoRan(stalls, samples, lateCalls, label, (l) => console.log(`soak: ${l}`));
    // The same in the windows with little other work on the host (≤ 10 % of a core).
    const quiet = windows.filter((w) => (w.foreignCpuPct ?? 100) <= 10).map((w) => [t0 + (w.index ? windows[w.index - 1].endS * 1000 : 0), t0 + w.endS * 1000]);
    const inQuiet = (t: number) => quiet.some(([a, b]) => t - performance.timeOrigin >= a && t - performance.timeOrigin < b);
    printWhoRan(stalls, samples, lateCalls, label, (l) => console.log(`soak: quiet windows (${quiet.length}): ${l}`), inQuiet);
  }
  console.log(failures.length ? `soak: FAIL: ${failures.join('; ')}` : 'soak: PASS');
  return failures.length ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (e: Error) => {
    console.error(`soak: ${e.stack ?? e.message}`);
    process.exit(2);
  },
);
