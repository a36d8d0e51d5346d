// `npm run bench -- [options]`: how many concurrent real-time calls one machine holds within the latency
// budgets. Starts the gateway (unless --url), drives it from this process with N paced calls per step,
// samples the gateway's CPU/RSS/event-loop lag, optionally runs a peer on the same audio, and writes
// result.json + report.html. Exit status 1 when a budget broke (naming it), 2 on a setup error.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import YAML from 'yaml';
import { join, resolve, dirname } from 'node:path';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { HELP, parseOptions, PEERS, type BenchOptions } from './options.js';
import { loadBudgets, describeViolations, type Budgets } from './budgets.js';
import { loadScenarios, shuffled, wireAudioFor, type Scenario, type ScenarioKind } from './scenarios.js';
import { httpBase } from './wires/control.js';
import { uploadPrompts } from './prompts.js';
import { getWire, wireTarget } from './wires/index.js';
import { freePort, startServer, type ServerProcess } from './serverProcess.js';
import { gatewayNodeArgs } from './productionStart.js';
import { ProcSampler } from './procSampler.js';
import { MonitorPages, reduceMonitor } from './monitorPages.js';
import { LagScraper } from './promScrape.js';
import { runStep, lagStats, LOOP_RESOLUTION_MS, type StepOutcome } from './loadGenerator.js';
import { reduceStep, type PeerResult, type StepResult } from './result.js';
import { computeMetrics } from './metrics.js';
import { summarize } from './stats.js';
import { Progress } from './progress.js';
import { renderHtml } from './report/html.js';
import { renderTable } from './report/table.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const servers: ServerProcess[] = [];
let monitor: MonitorPages | null = null;
/** 10:00 on a Wednesday in Asia/Shanghai (the policy's default zone): inside every default calling window. */
const BENCH_POLICY_CLOCK = 'fixed:2026-01-14T02:00:00Z';

const generatorLag = lagStats;
/** With worker processes the lag that matters is theirs (they send the audio); in-process it is ours. */
const stepGenLag = (o: StepOutcome, h: ReturnType<typeof monitorEventLoopDelay>) => o.workerLag ?? lagStats(h);
/** `--gen-workers auto`: one generator process per 150 calls (one process measured 6 ms lag p99 at 150 calls). */
const genWorkersFor = (opt: number | 'auto', calls: number) => (opt === 'auto' ? Math.max(1, Math.ceil(calls / 150)) : opt);

/** `earshot bench …` and `npm run bench -- …`. Nothing is started or written before the options are checked. */
export async function main(argv: string[]): Promise<number> {
  let o: BenchOptions;
  try {
    o = parseOptions(argv.filter((a) => a !== '--'), ROOT);
  } catch (e) {
    console.error(`bench: ${(e as Error).message}\n\n${HELP}`);
    return 2;
  }
  if (o.help) {
    console.log(HELP);
    return 0;
  }
  process.once('SIGINT', () => void stopAll().then(() => process.exit(130)));
  try {
    return await run(o);
  } catch (e) {
    console.error(`bench: ${(e as Error).message}`);
    return 2;
  } finally {
    await stopAll();
  }
}

async function run(o: BenchOptions): Promise<number> {
  const wire = getWire(o.wire);
  const workerSetup = { scenariosDir: o.scenariosDir, mix: o.mix, rate: o.rate, consentPrompt: o.consentPrompt, prompts: o.prompts, seed: o.seed, wire: o.wire };
  const budgets: Budgets = loadBudgets(o.budgetsFile);
  const audio = wireAudioFor(o.rate);
  const scenarios = loadScenarios(o.scenariosDir, o.mix, audio, o.consentPrompt, o.prompts);
  const byKind = (kinds: ScenarioKind[]): Scenario[][] =>
    kinds.map((k) => shuffled(scenarios.filter((s) => s.kind === k), o.seed)).filter((l) => l.length > 0);
  mkdirSync(o.outDir, { recursive: true });
  const steps = o.ramp ?? [o.calls];
  const durationMs = o.durationS * 1000;
  const staggerMs = o.staggerMs ?? Math.min(5000, durationMs / 4);
  console.log(`bench: ${scenarios.length} scenarios (${o.mix.join('+')}, ${audio.encoding}/${audio.sampleRate}), steps ${steps.join(',')} × ${o.durationS} s, wire ${o.wire}, out ${o.outDir}`);

  // The gateway under test.
  let url: string;
  let pid: number | null = o.pid;
  // Where this run's wire connects: only gRPC and AudioSocket listen apart from the WebSocket/HTTP port.
  const ports = { grpc: o.wire === 'grpc' ? (o.grpcPort ?? 50051) : null, audiosocket: o.wire === 'audiosocket' ? (o.audiosocketPort ?? 9092) : null };
  if (o.url) url = o.url;
  else {
    const entry = process.env.BENCH_GATEWAY_ENTRY ?? 'gateway/main.ts';
    if (!existsSync(join(ROOT, entry))) throw new Error(`${entry} does not exist yet: start a gateway yourself and pass --url`);
    console.log(`bench: starting ${entry} (pipeline ${o.pipeline}) …`);
    const env: Record<string, string> = { EARSHOT_LOG_LEVEL: 'warn' };
    // Free ports for every listener, so a bench never collides with a gateway already running on the defaults
    // (including another bench's); the wire under test needs to know its port, the others take any.
    env.EARSHOT_GRPC_PORT = ports.grpc ? String((ports.grpc = await freePort())) : '0';
    env.EARSHOT_AUDIOSOCKET_PORT = ports.audiosocket ? String((ports.audiosocket = await freePort())) : '0';
    // The bench's own gateway configuration, layered on the user's EARSHOT_CONFIG (if any):
    // * dataDir: a fresh folder in the result dir, so bench calls never land in (or are capped by) the call
    //   records, DNC list and evidence of a real data dir;
    // * policy.clock: a fixed weekday 10:00 Asia/Shanghai, so calling-hours rules do not refuse the bench at night
    //   (the policy check itself still runs on every call; callees are unique, so the caps do not refuse either);
    // * --pipeline vad: no recogniser, in the file; the user's EARSHOT_ASR_MODEL is dropped, as the environment would
    //   win over the file.
    const base = (process.env.EARSHOT_CONFIG ? YAML.parse(readFileSync(resolve(process.env.EARSHOT_CONFIG), 'utf8')) : null) ?? {};
    const cfg: Record<string, any> = { ...base, dataDir: join(o.outDir, 'gateway-data'), policy: { clock: BENCH_POLICY_CLOCK, ...(base.policy ?? {}) } };
    // * --consent-prompt: consent scenarios are marketing calls, on which the gateway refuses `play` by default
    //   (audio cannot be checked against an approved script); the bench plays its corpus prompt there on purpose.
    if (o.consentPrompt) cfg.scripts = { ...(base.scripts ?? {}), rawAudioCallTypes: ['marketing', 'notification'] };
    if (o.pipeline === 'vad') {
      cfg.asr = { ...(base.asr ?? {}), model: '' };
      delete process.env.EARSHOT_ASR_MODEL;
    }
    delete process.env.EARSHOT_DATA_DIR;
    const cfgFile = join(o.outDir, 'gateway-config.yaml');
    writeFileSync(cfgFile, YAML.stringify(cfg));
    env.EARSHOT_CONFIG = cfgFile;
    const gw = await startServer({ name: 'gateway', entry, env, nodeArgs: gatewayNodeArgs(), portEnv: 'EARSHOT_PORT', logFile: join(o.outDir, 'gateway.log'), cwd: ROOT });
    servers.push(gw);
    if (o.pipeline === 'vad' && !process.env.BENCH_GATEWAY_ENTRY) {
      await new Promise((r) => setTimeout(r, 200)); // let the startup log reach the file
      const log = existsSync(join(o.outDir, 'gateway.log')) ? readFileSync(join(o.outDir, 'gateway.log'), 'utf8') : '';
      if (!/asr\.model is empty|consent decisions disabled/.test(log)) console.warn('bench: WARNING --pipeline vad: the gateway log does not say the recogniser is disabled; check gateway.log');
    }
    url = gw.wsUrl;
    pid = gw.pid;
    console.log(`bench: gateway pid ${gw.pid} ready on ${gw.port}`);
  }
  if (o.prompts === 'library') {
    const n = await uploadPrompts(httpBase(url), o.token, o.scenariosDir, scenarios);
    if (n) console.log(`bench: ${n} prompt(s) uploaded to the gateway's library; calls play them by id (--prompts inline sends base64 per play)`);
  }
  if (o.monitor) {
    // Before the warm-up, so that the pages are as warm as the gateway when the step starts.
    const watch = o.monitorPages < o.monitor ? o.monitor / o.monitorPages : 0;
    console.log(`bench: opening the live monitor on ${o.monitor} call(s) in headless Chromium${watch ? `, ${o.monitorPages} page(s) each watching ${watch} calls at once` : ''}${o.monitorNice ? ` at nice ${o.monitorNice}` : ''} …`);
    monitor = await MonitorPages.start({ base: httpBase(url), token: o.token, pages: o.monitorPages, watch, nice: o.monitorNice });
  }
  const monitorSampler = monitor ? new ProcSampler(monitor.pid) : null;
  monitorSampler?.start();
  const sampler = pid ? new ProcSampler(pid) : null;
  sampler?.start();
  const lag = new LagScraper(`${httpBase(url)}/metrics`);
  lag.start();
  const loopDelay = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
  loopDelay.enable();
  const progress = new Progress();

  // A fresh process spends its first seconds cold (code not yet optimised, heaps still growing), and a gateway in
  // production runs warm: each measured run starts after `--warmup` seconds of the same load, whose numbers are
  // thrown away. (Steps at 300 calls held after lower ramp steps far more often than as a first step; warming at
  // the same load did not close that gap in three tries; the README's capacity table gives both.)
  const warmUp = async (calls: number, target: string, options: Partial<Parameters<typeof runStep>[0]> = {}) => {
    if (o.warmupS <= 0) return;
    const ms = o.warmupS * 1000;
    await runStep({
      calls, durationMs: ms, staggerMs: Math.min(staggerMs, ms / 4), wire, url: wireTarget(url, ports), token: o.token, audio, byKind: byKind(o.mix), sendPrompts: true,
      label: `warm${calls}`, genWorkers: genWorkersFor(o.genWorkers, calls), workerSetup,
      onProgress: (p) => progress.update(`[warm-up ${target}, ${calls} calls, not measured] ${(p.elapsedMs / 1000).toFixed(0)}/${o.warmupS}s active ${p.active} done ${p.done}`),
      ...options,
    });
    progress.done();
  };
  await warmUp(steps[0], 'gateway');

  const results: StepResult[] = [];
  for (const calls of steps) {
    await new Promise((r) => setTimeout(r, 1500)); // let the previous step's calls drain and RSS settle
    const baseline = sampler?.sample()?.rssMB ?? null;
    loopDelay.reset();
    const loadAvgStart = loadavg()[0];
    await monitor?.mark();
    const outcome = await runStep({
      calls, durationMs, staggerMs, wire, url: wireTarget(url, ports), token: o.token, audio, byKind: byKind(o.mix), sendPrompts: true, label: `c${calls}`,
      genWorkers: genWorkersFor(o.genWorkers, calls), workerSetup,
      onProgress: (p) => {
        const s = sampler?.samples[sampler.samples.length - 1];
        const gl = generatorLag(loopDelay);
        progress.update(`[${calls} calls] ${(p.elapsedMs / 1000).toFixed(0)}/${o.durationS}s active ${p.active} done ${p.done} failed ${p.failed} | gw cpu ${s ? Math.round(s.cpuPercent) : '–'}% rss ${s ? Math.round(s.rssMB) : '–'}MB | gen lag p99 ${gl.p99 ?? '–'}ms`);
      },
    });
    progress.done();
    const r = reduceStep({
      calls, durationS: o.durationS, outcome, budgets, proc: sampler?.samples ?? null, baselineRssMB: baseline,
      lag: lag.samples, lagAvailable: lag.available, generatorLag: stepGenLag(outcome, loopDelay),
    });
    if (monitor && monitorSampler) {
      const win = monitorSampler.samples.filter((s) => s.wall > outcome.startedAt && s.wall <= outcome.endedAt);
      const c = summarize(win.map((s) => s.cpuPercent));
      r.monitor = reduceMonitor(await monitor.collect(), o.durationS, o.monitorNice, { mean: c.mean, p95: c.p95, max: c.max }, monitor.watch);
      // An idle page would make "with the monitor open" a claim about nothing: it breaks the step.
      if (r.monitor.idlePages > 0) {
        r.violations.push({ metric: 'monitorIdlePages', limit: 'max <= 0', actual: r.monitor.idlePages });
        r.withinBudget = false;
      }
      const mp = r.monitor;
      console.log(`bench: monitor ${mp.pages} ${mp.watchPerPage ? `watched call view(s) on ${mp.pagesOpen} page(s)` : 'page(s)'}: frames plotted min ${mp.minFramesPlotted} (floor ${mp.minFramesExpected}), events shown min ${mp.minEventsShown}, idle ${mp.idlePages}, update delay p50/p95/p99 ${mp.updateDelayMs.p50}/${mp.updateDelayMs.p95}/${mp.updateDelayMs.p99} ms, Chromium+driver cpu ${mp.cpuPercent?.mean ?? '–'}%, a page's renderer main thread ${mp.renderMsPerS ? `${mp.renderMsPerS.task} ms/s (script ${mp.renderMsPerS.script}, layout ${mp.renderMsPerS.layout}, style ${mp.renderMsPerS.style})` : '–'}`);
    }
    // Other tenants on a shared machine show up here: read latencies against this.
    r.hostLoadAvg1m = Math.round(loadavg()[0] * 100) / 100;
    r.hostLoadAvg1mStart = Math.round(loadAvgStart * 100) / 100;
    results.push(r);
    if (r.wallBudgetsFrom === 'arrival') console.log(`bench: the far end sends the caller in chunks: wall budgets judged from each chunk's arrival (wall from speech p95: pause ${r.metrics.pauseWallMs.p95}, barge-in ${r.metrics.bargeInWallMs.p95}, consent ${r.metrics.consentWallMs.p95} ms)`);
    console.log(`bench: ${calls} calls → ${r.withinBudget ? 'within budget' : `OVER: ${describeViolations(r.violations)}`} (${r.counters.scenarios} scenarios, cpu ${r.cpuPercent?.mean ?? '–'}%, gen lag p99 ${r.generatorLagMs.p99} ms over ${r.genWorkers} generator process(es), host load ${r.hostLoadAvg1mStart}→${r.hostLoadAvg1m})`);
    if (r.generatorLagMs.p99 !== null && r.generatorLagMs.p99 > 20) console.warn(`bench: WARNING generator event-loop lag p99 ${r.generatorLagMs.p99} ms: the generator may be the bottleneck at ${calls} calls`);
    if (o.ramp && !r.withinBudget) break;
  }
  let maxCallsWithinBudget: number | null = null;
  for (const r of results) {
    if (!r.withinBudget) break;
    maxCallsWithinBudget = r.calls;
  }
  sampler?.stop();
  monitorSampler?.stop();
  await monitor?.stop();
  monitor = null;
  lag.stop();
  for (const s of servers.splice(0)) await s.stop();

  // Peer on the same audio (barge-in scenarios: onset detection), in its own child process.
  let peer: PeerResult | null = null;
  if (o.peer) {
    const cmpStep = results.find((r) => r.calls === (o.ramp ? maxCallsWithinBudget ?? results[0].calls : o.calls)) ?? results[0];
    console.log(`bench: peer ${o.peer} with ${cmpStep.calls} calls …`);
    // The peer, then the same server with its VAD off (the baseline that isolates the VAD stage), same load.
    const runPeer = async (vadOff: boolean) => {
      const label = vadOff ? `${o.peer} without VAD` : o.peer!;
      const ps = await startServer({ name: label, entry: PEERS[o.peer!], env: vadOff ? { PEER_VAD: 'off' } : {}, portEnv: 'PEER_PORT', logFile: join(o.outDir, vadOff ? 'peer-baseline.log' : 'peer.log'), cwd: ROOT });
      servers.push(ps);
      const ps_sampler = new ProcSampler(ps.pid);
      ps_sampler.start();
      await new Promise((r) => setTimeout(r, 1000));
      const base = ps_sampler.sample()?.rssMB ?? null;
      // Warmed like the gateway, so that neither side's CPU figure carries its start-up.
      await warmUp(cmpStep.calls, label, {
        wire: getWire('ws'), url: ps.wsUrl, token: null, byKind: byKind(['bargein']), sendPrompts: false,
        workerSetup: { ...workerSetup, wire: 'ws', mix: ['bargein'] as ('bargein' | 'consent')[] },
      });
      loopDelay.reset();
      const outcome = await runStep({
        calls: cmpStep.calls, durationMs, staggerMs, wire: getWire('ws'), url: ps.wsUrl, token: null, audio, byKind: byKind(['bargein']), sendPrompts: false, label: vadOff ? 'peer0' : 'peer',
        genWorkers: genWorkersFor(o.genWorkers, cmpStep.calls), workerSetup: { ...workerSetup, wire: 'ws', mix: ['bargein'] as ('bargein' | 'consent')[] },
        onProgress: (p) => progress.update(`[${label} ${cmpStep.calls} calls] ${(p.elapsedMs / 1000).toFixed(0)}/${o.durationS}s active ${p.active} done ${p.done} failed ${p.failed}`),
      });
      progress.done();
      ps_sampler.stop();
      const pr = reduceStep({ calls: cmpStep.calls, durationS: o.durationS, outcome, budgets: {}, proc: ps_sampler.samples, baselineRssMB: base, lag: null, lagAvailable: null, generatorLag: stepGenLag(outcome, loopDelay) });
      await ps.stop();
      servers.pop();
      return { outcome, pr };
    };
    const { outcome, pr } = await runPeer(false);
    const { pr: pr0 } = await runPeer(true);
    const pm = computeMetrics(outcome.records);
    const onset = summarize(pm.samples.onsetMs);
    const eOnset = cmpStep.metrics.onsetMs;
    const ratio = (a: number | null, b: number | null) => (a !== null && b !== null && b !== 0 ? Math.round((a / b) * 100) / 100 : null);
    const peerVad = pr.cpuMsPerCallSecond !== null && pr0.cpuMsPerCallSecond !== null ? Math.round((pr.cpuMsPerCallSecond - pr0.cpuMsPerCallSecond) * 100) / 100 : null;
    const earshotVad = cmpStep.stageMsPerCallSecond?.vad ?? null;
    peer = {
      name: o.peer,
      calls: cmpStep.calls,
      cpuMsPerCallSecond: pr.cpuMsPerCallSecond,
      cpuPercent: pr.cpuPercent,
      rssMB: pr.rssMB,
      onsetMs: onset,
      onsetSamples: pm.samples.onsetMs,
      missedOnsets: pm.counters.onsetScenarios - pm.samples.onsetMs.length,
      baselineCpuMsPerCallSecond: pr0.cpuMsPerCallSecond,
      vadStageMsPerCallSecond: peerVad,
      earshot: {
        pipeline: o.pipeline,
        calls: cmpStep.calls,
        cpuMsPerCallSecond: cmpStep.cpuMsPerCallSecond,
        vadStageMsPerCallSecond: earshotVad,
        onsetMs: eOnset,
        pauseMs: cmpStep.metrics.pauseMs,
        comparable: o.pipeline === 'vad' && o.mix.length === 1 && o.mix[0] === 'bargein',
        note: o.pipeline === 'vad' && o.mix.join() === 'bargein'
          ? 'earshot ran --pipeline vad --mix bargein: CPU per call-second is like for like (earshot also paces prompt playout, the peer plays nothing).'
          : `earshot ran --pipeline ${o.pipeline} --mix ${o.mix.join(',')}; for a like-for-like CPU ratio use --pipeline vad --mix bargein.`,
      },
      ratios: {
        cpuPerCallSecond: ratio(cmpStep.cpuMsPerCallSecond, pr.cpuMsPerCallSecond),
        vadStageCpu: ratio(earshotVad, peerVad),
        onsetP50: ratio(eOnset.p50, onset.p50),
        onsetP95: ratio(eOnset.p95, onset.p95),
      },
      generatorLagMs: pr.generatorLagMs,
    };
  }

  const last = results[results.length - 1];
  const head = o.ramp ? (results.find((r) => r.calls === maxCallsWithinBudget) ?? last) : last;
  const strip = (s: StepResult) => ({ ...s, samples: undefined });
  const result = {
    calls: head.calls,
    withinBudget: results.every((r) => r.withinBudget) || (o.ramp ? maxCallsWithinBudget !== null : false),
    budgets,
    metrics: head.metrics,
    falseBargeIns: head.falseBargeIns,
    cpuPercent: head.cpuPercent,
    rssMB: head.rssMB,
    rssPerCallMB: head.rssPerCallMB,
    cpuMsPerCallSecond: head.cpuMsPerCallSecond,
    gatewayLagMs: head.gatewayLagMs,
    generatorLagMs: head.generatorLagMs,
    violations: head.violations,
    ...(o.ramp ? { maxCallsWithinBudget, steps: results.map(strip) } : { step: strip(head) }),
    peer: peer ? { ...peer, onsetSamples: undefined } : null,
    options: { ...o, token: o.token ? '(set)' : null },
    corpus: { dir: o.scenariosDir, scenarios: scenarios.length },
    host: { cores: (await import('node:os')).cpus().length, node: process.version },
    finishedAt: new Date().toISOString(),
  };
  writeFileSync(join(o.outDir, 'result.json'), JSON.stringify(result, null, 2));
  writeFileSync(join(o.outDir, 'report.html'), renderHtml({
    title: `earshot bench — ${o.ramp ? `ramp ${steps.join(',')}${results.length < steps.length ? ` (stopped after ${last.calls})` : ''}` : `${o.calls} calls`}`,
    meta: { wire: o.wire, rate: `${audio.encoding}/${audio.sampleRate}`, pipeline: o.url ? '(external gateway)' : o.pipeline, mix: o.mix.join('+'), 'duration/step s': o.durationS, 'warm-up s': o.warmupS, cores: result.host.cores, at: result.finishedAt },
    budgets, steps: results, maxCallsWithinBudget: o.ramp ? maxCallsWithinBudget : null, peer,
  }));
  console.log(renderTable(results, peer, maxCallsWithinBudget));
  console.log(`bench: wrote ${join(o.outDir, 'result.json')} and report.html`);
  const broken = o.ramp ? (maxCallsWithinBudget === null ? last.violations : []) : last.violations;
  if (broken.length) {
    console.error(`bench: budget broken: ${describeViolations(broken)}`);
    return 1;
  }
  return 0;
}

async function stopAll(): Promise<void> {
  await monitor?.stop().catch(() => undefined);
  monitor = null;
  for (const s of servers.splice(0)) await s.stop().catch(() => undefined);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  // The generator's timers and sockets may outlive the run: exit with its code rather than wait for them.
  void main(process.argv.slice(2)).then((code) => process.exit(code));
}
