// Real gateway processes for fleet tests: `node --import tsx gateway/main.ts` with its own port, data dir and
// instance id, sharing one database through EARSHOT_DATABASE_URL. Separate processes, so a SIGKILL kills exactly
// one instance as it would in production.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import YAML from 'yaml';
import { PROJECT_ROOT } from '../../gateway/models.js';
import { freePort } from './postgres.js';

export interface GatewayProcess {
  name: string;
  port: number;
  http: string;
  ws: string;
  dataDir: string;
  pid: number;
  /** Everything the process wrote (pino JSON lines). */
  output(): string;
  exited: Promise<{ code: number | null; signal: string | null }>;
  kill(signal: NodeJS.Signals): void;
  /** SIGTERM and wait (drains calls for shutdownGraceMs). */
  stop(): Promise<void>;
}

const children = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});

export async function startGatewayProcess(opts: {
  name: string;
  databaseUrl: string;
  /** Extra configuration (YAML file via EARSHOT_CONFIG). */
  config?: Record<string, unknown>;
  env?: Record<string, string>;
  readyTimeoutMs?: number;
}): Promise<GatewayProcess> {
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), `earshot-${opts.name}-`));
  const cfgFile = join(dataDir, 'config.yaml');
  writeFileSync(cfgFile, YAML.stringify(opts.config ?? {}));
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    EARSHOT_CONFIG: cfgFile,
    EARSHOT_PORT: String(port),
    EARSHOT_HOST: '127.0.0.1',
    EARSHOT_DATA_DIR: dataDir,
    EARSHOT_DATABASE_URL: opts.databaseUrl,
    EARSHOT_INSTANCE_ID: opts.name,
    EARSHOT_ADVERTISE_URL: `http://127.0.0.1:${port}`,
    EARSHOT_AUDIOSOCKET_PORT: '0',
    EARSHOT_GRPC_PORT: '0',
    EARSHOT_LOG_LEVEL: 'info',
    ...opts.env,
  };
  delete env.VITEST; // the child logs at info like a real gateway; the test reads its output
  delete env.VITEST_WORKER_ID;
  delete env.VITEST_POOL_ID;
  const child = spawn(process.execPath, ['--import', 'tsx', 'gateway/main.ts'], { cwd: PROJECT_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let out = '';
  const keep = (d: Buffer) => {
    out += d.toString();
    if (out.length > 4_000_000) out = out.slice(-2_000_000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      children.delete(child);
      resolve({ code, signal });
    }),
  );
  let gone = false;
  void exited.then(() => (gone = true));
  const http = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + (opts.readyTimeoutMs ?? 120_000);
  for (;;) {
    if (gone) throw new Error(`${opts.name} exited before it was ready:\n${out.slice(-3000)}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${opts.name} not ready in time:\n${out.slice(-3000)}`);
    }
    try {
      const r = await fetch(`${http}/readyz`, { signal: AbortSignal.timeout(1000) });
      if (r.status === 200) break;
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    name: opts.name,
    port,
    http,
    ws: `ws://127.0.0.1:${port}/v1/stream`,
    dataDir,
    pid: child.pid!,
    output: () => out,
    exited,
    kill: (signal) => child.kill(signal),
    async stop() {
      if (gone) return;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(t);
    },
  };
}
