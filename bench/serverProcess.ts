// Starts a server under test (the gateway, or a peer) as a child process on a free port and waits for /readyz.
// A separate process keeps the load generator's CPU out of the server's numbers, and vice versa.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { createServer } from 'node:net';

export interface ServerProcess {
  child: ChildProcess;
  pid: number;
  port: number;
  baseUrl: string; // http://127.0.0.1:PORT
  wsUrl: string;
  stop(): Promise<void>;
}

/** Servers this process started and has not stopped: they go with it, however it ends. */
const running = new Set<ChildProcess>();
let hooked = false;

/**
 * A bench or soak stopped from outside (Ctrl-C, `kill`, a timeout) would otherwise leave its gateway running as an
 * orphan, busy with the calls it still had and taking CPU from whatever is measured next.
 */
function stopWithThisProcess(child: ChildProcess): void {
  running.add(child);
  child.once('exit', () => running.delete(child));
  if (hooked) return;
  hooked = true;
  process.once('exit', () => {
    for (const c of running) c.kill('SIGKILL');
  });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      for (const c of running) c.kill('SIGTERM');
      process.exit(sig === 'SIGINT' ? 130 : 143);
    });
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

export async function startServer(opts: {
  name: string;
  entry: string; // path to a .ts entry, run with tsx
  env: Record<string, string>;
  portEnv: string;
  logFile: string;
  readyTimeoutMs?: number;
  cwd: string;
  /** Extra Node flags for the child (profiling, GC settings), ahead of the entry. */
  nodeArgs?: string[];
}): Promise<ServerProcess> {
  const port = await freePort();
  const log = createWriteStream(opts.logFile);
  const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), '--import', 'tsx', opts.entry], {
    cwd: opts.cwd,
    env: { ...process.env, ...opts.env, [opts.portEnv]: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let tail = '';
  const keep = (d: Buffer) => {
    log.write(d);
    tail = (tail + d.toString()).slice(-2000);
  };
  stopWithThisProcess(child);
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  let exited: string | null = null;
  child.on('exit', (code, sig) => (exited = `exited with ${code ?? sig}`));
  const baseUrl = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + (opts.readyTimeoutMs ?? 180_000);
  for (;;) {
    if (exited) throw new Error(`${opts.name} ${exited} before /readyz was 200. Last output:\n${tail}\n(full log: ${opts.logFile})`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${opts.name} not ready within ${(opts.readyTimeoutMs ?? 180_000) / 1000} s. Last output:\n${tail}`);
    }
    try {
      const r = await fetch(`${baseUrl}/readyz`, { signal: AbortSignal.timeout(1000) });
      if (r.status === 200) break;
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return {
    child,
    pid: child.pid!,
    port,
    baseUrl,
    wsUrl: `ws://127.0.0.1:${port}`,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const gone = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await gone;
      clearTimeout(t);
      log.end();
    },
  };
}
