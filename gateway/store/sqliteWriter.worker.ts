// Worker side of SqliteWriter: its own connection to the gateway database (WAL: the main thread's reads go on
// beside it). Each job is one IMMEDIATE transaction — the write lock is taken before the guard reads, so what the
// guard saw is still true when the steps write — held only for the job's own statements and its commit.
import { existsSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import { parentPort, workerData } from 'node:worker_threads';
import type { Statement } from 'better-sqlite3';
import { openDatabase } from './Database.js';
import type { WriteJob, WriteResult, WriterReply, WriterRequest } from './SqliteWriter.js';

const port = parentPort!;
const file = (workerData as { dbFile: string }).dbFile;
// The main thread made the file before it asked for a writer; if it is gone (the data directory removed), writing
// into a fresh empty database here would only hide that: fail every write instead.
if (!existsSync(file)) throw new Error(`${file} does not exist`);
const db = openDatabase({ file });

// The SQL texts are the stores' fixed statements; the cap only guards against a caller building SQL per write.
const prepared = new Map<string, Statement>();
function prep(sql: string): Statement {
  let s = prepared.get(sql);
  if (!s) {
    if (prepared.size >= 256) prepared.clear();
    prepared.set(sql, (s = db.prepare(sql)));
  }
  return s;
}

const call = (s: Statement, p: WriteJob['steps'][number]['params'], how: 'run' | 'get') =>
  p === undefined ? s[how]() : Array.isArray(p) ? s[how](...p) : s[how](p);

class Stale {
  constructor(readonly found: Record<string, unknown> | null) {}
}

const transaction = db.transaction((job: WriteJob): number[] => {
  if (job.guard) {
    const found = (call(prep(job.guard.sql), job.guard.params, 'get') as Record<string, unknown> | undefined) ?? null;
    // Rows come back as null-prototype objects: compare as plain ones.
    const plain = found && { ...found };
    if (!isDeepStrictEqual(plain, job.guard.expect)) throw new Stale(plain);
  }
  return job.steps.map((st) => (call(prep(st.sql), st.params, 'run') as { changes: number }).changes);
});

function run(job: WriteJob): WriteResult {
  const relaxed = job.synchronous === 'NORMAL';
  if (relaxed) db.pragma('synchronous = NORMAL');
  try {
    return { ok: true, changes: transaction.immediate(job) };
  } catch (e) {
    if (e instanceof Stale) return { ok: false, stale: e.found };
    throw e;
  } finally {
    if (relaxed) db.pragma('synchronous = FULL');
  }
}

port.on('message', ({ id, job }: WriterRequest) => {
  let reply: WriterReply;
  try {
    reply = { id, result: run(job) };
  } catch (e) {
    reply = { id, error: e instanceof Error ? e.message : String(e) };
  }
  port.postMessage(reply);
});
