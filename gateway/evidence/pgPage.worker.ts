// Worker side of PgPageReader: its own connection; each request is answered on the port, then the shared flag is
// set and the waiting thread woken.
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import pg from 'pg';
import type { PageReply, PageRequest } from './pgPageReader.js';
import { recordFromPgRow, SELECT_RECORD } from './PgEvidenceStore.js';
import { redactError } from '../store/postgres/redact.js';

const { url, port, flag } = workerData as { url: string; port: MessagePort; flag: Int32Array };
const client = new pg.Client({
  connectionString: url,
  connectionTimeoutMillis: 10_000,
  types: { getTypeParser: ((oid: number, format?: 'text' | 'binary') => (oid === 20 ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format as 'text'))) as typeof pg.types.getTypeParser },
});

function reply(m: PageReply): void {
  port.postMessage(m);
  Atomics.store(flag, 0, 1);
  Atomics.notify(flag, 0);
}

try {
  await client.connect();
  parentPort!.postMessage({ ready: true });
} catch (e) {
  parentPort!.postMessage({ error: redactError(e, url).message });
}

port.on('message', (req: PageRequest) => {
  client
    .query(`SELECT ${SELECT_RECORD}, a.wav FROM evidence e LEFT JOIN evidence_audio a ON a.id = e.id WHERE e.seq > $1 ORDER BY e.seq LIMIT 200`, [req.afterSeq])
    .then(
      (r) => reply({ ok: true, page: r.rows.map((row) => ({ record: recordFromPgRow(row), wav: row.wav ?? null })) }),
      (e: unknown) => reply({ ok: false, error: redactError(e, url).message }),
    );
});
port.on('close', () => void client.end().catch(() => undefined));
