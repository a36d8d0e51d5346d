// `npm run bench:fleet -- [--instances N] [--per-instance A,B,…] [--out DIR] [-- <bench options>]`
// The fleet bench: N gateways (own process, port and data dir) on one throwaway PostgreSQL cluster, each driven by
// its own `bench/run.ts --url … --pid …` with the same options, all at once, so the N gateways carry N × the step's
// calls between them and every call start is admitted at the shared database. Per step it reports each instance's
// result (within budget or not, latencies), the fleet's calls, and the time the frequency-cap check-and-record took
// at the database (earshot_admission_store_seconds, p50/p95/p99 interpolated in its buckets, read from each
// gateway's /metrics before and after the step).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import { TestCall } from '../test/helpers/client.js';
import { startPostgres, type PgCluster } from '../test/helpers/postgres.js';
import { startServer, type ServerProcess } from './serverProcess.js';
import { gatewayNodeArgs } from './productionStart.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BENCH_POLICY_CLOCK = 'fixed:2026-01-14T02:00:00Z';

interface Args {
  instances: number;
  perInstance: number[];
  out: string;
  pipeline: 'full' | 'vad';
  passthrough: string[];
}

function parse(argv: string[]): Args {
  const sep = argv.indexOf('--');
  const own = sep >= 0 ? argv.slice(0, sep) : argv;
  const passthrough = sep >= 0 ? argv.slice(sep + 1) : [];
  const a: Args = { instances: 2, perInstance: [50], out: join(ROOT, 'bench', 'results', `fleet-${new Date().toISOString().replace(/[:.]/g, '-')}`), pipeline: 'full', passthrough };
  for (let i = 0; i < own.length; i++) {
    const v = own[i + 1];
    if (own[i] === '--instances') a.instances = Number(v), i++;
    else if (own[i] === '--per-instance') a.perInstance = v.split(',').map(Number), i++;
    else if (own[i] === '--out') a.out = resolve(v), i++;
    else if (own[i] === '--pipeline') a.pipeline = v as 'full' | 'vad', i++;
    else throw new Error(`unknown option ${own[i]} (bench options go after --)`);
  }
  if (!Number.isInteger(a.instances) || a.instances < 1) throw new Error('--instances must be a positive integer');
  if (a.perInstance.some((n) => !Number.isInteger(n) || n < 1)) throw new Error('--per-instance must list positive integers');
  if (!['full', 'vad'].includes(a.pipeline)) throw new Error('--pipeline is full or vad');
  if (passthrough.some((p) => ['--url', '--pid', '--calls', '--ramp', '--ramp-steps', '--out', '--pipeline'].includes(p))) {
    throw new Error('--url, --pid, --calls, --ramp*, --out and --pipeline are set by the fleet bench');
  }
  return a;
}

/** Cumulative bucket counts of one histogram (summed over label sets, or those with `label`) from a Prometheus page. */
function histogram(text: string, name: string, label?: string): Map<number, number> {
  const out = new Map<number, number>();
  const re = new RegExp(`^${name}_bucket\\{([^}]*)\\} (\\S+)$`, 'gm');
  for (const m of text.matchAll(re)) {
    if (label && !m[1].includes(label)) continue;
    const le = /le="([^"]+)"/.exec(m[1])?.[1];
    if (!le) continue;
    const k = le === '+Inf' ? Infinity : Number(le);
    out.set(k, (out.get(k) ?? 0) + Number(m[2]));
  }
  return out;
}

/** Quantile of the observations between two scrapes, linear inside the bucket (as Prometheus' histogram_quantile). */
function quantile(before: Map<number, number>, after: Map<number, number>, q: number): number | null {
  const les = [...after.keys()].sort((x, y) => x - y);
  const cum = les.map((le) => (after.get(le) ?? 0) - (before.get(le) ?? 0));
  const total = cum[cum.length - 1] ?? 0;
  if (!total) return null;
  const rank = q * total;
  for (let i = 0; i < les.length; i++) {
    if (cum[i] >= rank) {
      const lo = i === 0 ? 0 : les[i - 1];
      const hi = les[i] === Infinity ? lo : les[i];
      const below = i === 0 ? 0 : cum[i - 1];
      const inBucket = cum[i] - below;
      return inBucket ? lo + ((hi - lo) * (rank - below)) / inBucket : hi;
    }
  }
  return null;
}

function percentiles(xs: number[]): { n: number; p50: number; p95: number; p99: number } {
  const s = [...xs].sort((a, b) => a - b);
  const at = (p: number) => Math.round(s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)] * 1000) / 1000;
  return { n: s.length, p50: at(0.5), p95: at(0.95), p99: at(0.99) };
}

/**
 * Forwarding between real gateways: a call held on the first, `stop_prompt` sent `n` times straight to it and `n`
 * times to the second (which finds the holder in the call directory and forwards), alternately; round trips in ms.
 */
async function forwardProbe(holder: ServerProcess, other: ServerProcess, n: number): Promise<{ direct: ReturnType<typeof percentiles>; forwarded: ReturnType<typeof percentiles> }> {
  const c = new TestCall(`${holder.wsUrl}/v1/stream`);
  const callId = `fwd-probe-${process.pid}`;
  const ev = await c.start({ callId, encoding: 'pcm16', sampleRate: 16000, callType: 'notification', callee: '+8613900000999' });
  if (ev.type !== 'ready') throw new Error(`forward probe: the call was not admitted (${JSON.stringify(ev)})`);
  const direct: number[] = [];
  const forwarded: number[] = [];
  try {
    const post = async (base: string) => {
      const t = performance.now();
      const r = await fetch(`${base}/v1/calls/${callId}/stop_prompt`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
      await r.text();
      if (r.status !== 202) throw new Error(`forward probe: ${base} answered ${r.status}`);
      return performance.now() - t;
    };
    for (let i = 0; i < n + 20; i++) {
      const d = await post(holder.baseUrl);
      const f = await post(other.baseUrl);
      if (i >= 20) direct.push(d), forwarded.push(f); // the first 20: connections and JIT warm up
    }
  } finally {
    await c.hangup().catch(() => undefined);
    c.close();
  }
  return { direct: percentiles(direct), forwarded: percentiles(forwarded) };
}

async function scrape(gw: ServerProcess): Promise<string> {
  return (await fetch(`${gw.baseUrl}/metrics`)).text();
}

function runBench(args: string[], log: string): Promise<number> {
  return new Promise((resolveRun) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bench/run.ts', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    child.stdout!.on('data', (d: Buffer) => chunks.push(d));
    child.stderr!.on('data', (d: Buffer) => chunks.push(d));
    child.on('exit', (code) => {
      writeFileSync(log, Buffer.concat(chunks));
      resolveRun(code ?? 2);
    });
  });
}

async function main(): Promise<number> {
  const a = parse(process.argv.slice(2));
  mkdirSync(a.out, { recursive: true });
  let cluster: PgCluster | null = null;
  const gateways: ServerProcess[] = [];
  try {
    // fsync on, as in production: every admission waits for its commit's WAL flush.
    cluster = await startPostgres();
    const evidenceKey = randomBytes(32).toString('hex'); // the fleet's one key for its one evidence chain
    console.log(`fleet: PostgreSQL ${cluster.port} (${a.instances} gateways, per-instance steps ${a.perInstance.join(',')}, pipeline ${a.pipeline})`);
    for (let i = 0; i < a.instances; i++) {
      const name = `gw${i + 1}`;
      const dir = join(a.out, name);
      mkdirSync(dir, { recursive: true });
      const cfg: Record<string, unknown> = { dataDir: join(dir, 'data'), policy: { clock: BENCH_POLICY_CLOCK } };
      if (a.pipeline === 'vad') cfg.asr = { model: '' };
      writeFileSync(join(dir, 'gateway-config.yaml'), YAML.stringify(cfg));
      const env = {
        EARSHOT_CONFIG: join(dir, 'gateway-config.yaml'),
        EARSHOT_DATABASE_URL: cluster.url,
        EARSHOT_EVIDENCE_KEY: evidenceKey,
        EARSHOT_INSTANCE_ID: name,
        EARSHOT_LOG_LEVEL: 'warn',
        EARSHOT_GRPC_PORT: '0',
        EARSHOT_AUDIOSOCKET_PORT: '0',
      };
      gateways.push(await startServer({ name, entry: 'gateway/main.ts', env, nodeArgs: gatewayNodeArgs(), portEnv: 'EARSHOT_PORT', logFile: join(dir, 'gateway.log'), cwd: ROOT }));
      console.log(`fleet: ${name} pid ${gateways[i].pid} on ${gateways[i].port}`);
    }
    let forwarding: Awaited<ReturnType<typeof forwardProbe>> | null = null;
    if (gateways.length >= 2) {
      forwarding = await forwardProbe(gateways[0], gateways[1], 400);
      const f = (x: ReturnType<typeof percentiles>) => `${x.p50}/${x.p95}/${x.p99}`;
      console.log(`fleet: control request round trip, ms p50/p95/p99 (n=${forwarding.direct.n}, idle): straight to the holder ${f(forwarding.direct)}, through the other instance ${f(forwarding.forwarded)}`);
    }
    const steps = [];
    for (const n of a.perInstance) {
      const before = await Promise.all(gateways.map(scrape));
      console.log(`fleet: step ${n} calls per instance (${n * a.instances} in the fleet) …`);
      const codes = await Promise.all(
        gateways.map((g, i) => {
          const out = join(a.out, `gw${i + 1}`, `step-${n}`);
          return runBench(['--url', g.wsUrl, '--pid', String(g.pid), '--calls', String(n), '--out', out, ...a.passthrough], join(a.out, `gw${i + 1}`, `step-${n}.log`));
        }),
      );
      const after = await Promise.all(gateways.map(scrape));
      const perInstance = gateways.map((_, i) => {
        const r = JSON.parse(readFileSync(join(a.out, `gw${i + 1}`, `step-${n}`, 'result.json'), 'utf8'));
        // The cap check-and-record at the database alone, and each start's whole admission (directory claim,
        // do-not-call, hours, caps, script) and the directory claim, all per instance over this step.
        const q = (name: string, label?: string) => {
          const hb = histogram(before[i], name, label);
          const ha = histogram(after[i], name, label);
          const ms = (p: number) => {
            const v = quantile(hb, ha, p);
            return v === null ? null : Math.round(v * 100_000) / 100;
          };
          return { n: (ha.get(Infinity) ?? 0) - (hb.get(Infinity) ?? 0), p50: ms(0.5), p95: ms(0.95), p99: ms(0.99) };
        };
        return {
          instance: `gw${i + 1}`,
          exit: codes[i],
          withinBudget: r.withinBudget as boolean,
          violations: r.violations,
          metrics: Object.fromEntries(Object.entries(r.metrics as Record<string, { p50: number; p95: number }>).map(([k, v]) => [k, { p50: v.p50, p95: v.p95 }])),
          failedCalls: r.step?.counters?.failedCalls,
          scenarios: r.step?.counters?.scenarios,
          cpuPercent: r.cpuPercent,
          admissionStoreMs: q('earshot_admission_store_seconds'),
          admissionMs: q('earshot_admission_seconds', 'feature="all"'),
          directoryClaimMs: q('earshot_admission_seconds', 'feature="fleet"'),
        };
      });
      const step = { perInstance: n, fleetCalls: n * a.instances, allWithinBudget: perInstance.every((p) => p.withinBudget), instances: perInstance };
      steps.push(step);
      for (const p of perInstance) {
        const f = (x: { p50: number | null; p95: number | null; p99: number | null }) => `${x.p50}/${x.p95}/${x.p99}`;
        console.log(
          `fleet:   ${p.instance}: ${p.withinBudget ? 'within budget' : `OVER (${JSON.stringify(p.violations)})`}; ms p50/p95/p99 over ${p.admissionStoreMs.n} starts: ` +
            `cap check-and-record at the database ${f(p.admissionStoreMs)}, directory claim ${f(p.directoryClaimMs)}, whole admission ${f(p.admissionMs)}`,
        );
      }
    }
    const maxPerInstance = steps.filter((s) => s.allWithinBudget).reduce<number | null>((m, s) => (m === null || s.perInstance > m ? s.perInstance : m), null);
    const result = { instances: a.instances, pipeline: a.pipeline, passthrough: a.passthrough, maxPerInstanceWithinBudget: maxPerInstance, forwarding, steps, finishedAt: new Date().toISOString() };
    writeFileSync(join(a.out, 'fleet.json'), JSON.stringify(result, null, 2));
    console.log(`fleet: largest per-instance step with every instance within budget: ${maxPerInstance ?? 'none'}; wrote ${join(a.out, 'fleet.json')}`);
    return 0;
  } finally {
    for (const g of gateways) await g.stop().catch(() => undefined);
    await cluster?.destroy();
  }
}

main().then(
  (code) => process.exit(code),
  (e: Error) => {
    console.error(`bench:fleet: ${e.message}`);
    process.exit(2);
  },
);
