// Who held the cores: every `intervalMs` (20) this worker reads the on-core time of every thread of the given
// processes and their descendants (the gateway with its helper processes, and the soak itself: /proc/PID/task/TID/schedstat) and the host's busy time (/proc/stat),
// and appends one line per sample to `file`: { t (epoch ms), host (busy ms so far, all cores), cpu: { "PID/TID": on-core
// ms so far } }. bench/stallJoin.ts sets each stall of the gateway's main thread beside what every other thread (and
// the host's other processes) ran meanwhile. Its own thread, so the soak's event loop does not do the reading.
import { appendFile, closeSync, openSync, readdirSync, readFileSync, readSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';

const { pids, file, intervalMs } = workerData as { pids: number[]; file: string; intervalMs: number };
const fds = new Map<string, number>();
const buf = Buffer.alloc(96);
const lines: string[] = [];

/** `pid` and every process below it: the gateway's helper processes (the ASR workers) are its threads' peers. */
function withDescendants(pid: number, out: number[] = []): number[] {
  out.push(pid);
  let tids: string[] = [];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    let kids = '';
    try {
      kids = readFileSync(`/proc/${pid}/task/${tid}/children`, 'latin1').trim();
    } catch {
      continue;
    }
    for (const k of kids ? kids.split(/\s+/) : []) withDescendants(Number(k), out);
  }
  return out;
}

function refresh(): void {
  const alive = new Set<string>();
  for (const pid of pids.flatMap((p) => withDescendants(p))) {
    let tids: string[] = [];
    try {
      tids = readdirSync(`/proc/${pid}/task`);
    } catch {
      continue;
    }
    for (const tid of tids) {
      const key = `${pid}/${tid}`;
      alive.add(key);
      if (!fds.has(key)) {
        try {
          fds.set(key, openSync(`/proc/${pid}/task/${tid}/schedstat`, 'r'));
        } catch {
          /* gone already */
        }
      }
    }
  }
  for (const [key, fd] of fds) {
    if (!alive.has(key)) {
      closeSync(fd);
      fds.delete(key);
    }
  }
}

function hostBusyMs(): number {
  const f = readFileSync('/proc/stat', 'latin1').slice(0, 200).split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  return ((f[0] + f[1] + f[2] + f[5] + f[6] + (f[7] ?? 0)) * 1000) / 100;
}

function sample(): void {
  const cpu: Record<string, number> = {};
  for (const [key, fd] of fds) {
    try {
      const n = readSync(fd, buf, 0, buf.length, 0);
      cpu[key] = Math.round(Number(buf.toString('latin1', 0, n).split(' ')[0]) / 1e5) / 10;
    } catch {
      /* the thread ended */
    }
  }
  lines.push(JSON.stringify({ t: Math.round((performance.timeOrigin + performance.now()) * 10) / 10, host: hostBusyMs(), cpu }));
}

refresh();
const timers = [
  setInterval(sample, intervalMs),
  setInterval(refresh, 1000),
  setInterval(() => {
    if (lines.length) appendFile(file, lines.splice(0).join('\n') + '\n', () => undefined);
  }, 1000),
];
parentPort!.on('message', (m) => {
  if (m !== 'stop') return;
  for (const t of timers) clearInterval(t);
  if (lines.length) appendFile(file, lines.splice(0).join('\n') + '\n', () => parentPort!.postMessage('stopped'));
  else parentPort!.postMessage('stopped');
});
