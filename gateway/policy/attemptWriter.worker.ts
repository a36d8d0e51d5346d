// Worker side of AttemptWriter: its own connection to the gateway database; every admission that arrived while
// the previous commit was running goes into the next transaction, in arrival order, so each one's count sees the
// attempts admitted before it.
import { parentPort, workerData } from 'node:worker_threads';
import { openDatabase } from '../store/Database.js';
import type { AttemptReply, AttemptRequest } from './AttemptWriter.js';
import { countAttempts, insertAttempt, prepareAttempts } from './attempts.js';
import type { FrequencyCap } from './types.js';

const port = parentPort!;
const db = openDatabase({ file: (workerData as { dbFile: string }).dbFile });
const s = prepareAttempts(db);
const HOUR_MS = 3_600_000;

let queue: AttemptRequest[] = [];
let scheduled = false;

const commit = db.transaction((batch: AttemptRequest[]): AttemptReply[] =>
  batch.map(({ id, attempt: a, caps }) => {
    let full: FrequencyCap | null = null;
    for (const cap of caps) {
      // No upper bound: an attempt stamped after `a.at` (another instance's clock ahead of this one) counts too.
      if (countAttempts(s, a.callee, a.callType, a.at - cap.windowHours * HOUR_MS, Number.MAX_SAFE_INTEGER) >= cap.max) {
        full = cap;
        break;
      }
    }
    if (!full) insertAttempt(s, a);
    return { id, full };
  }),
);

function run(): void {
  scheduled = false;
  const batch = queue;
  queue = [];
  let replies: AttemptReply[];
  try {
    // IMMEDIATE: the write lock is held from the first count to the last insert (another process may write too).
    replies = commit.immediate(batch);
  } catch (e) {
    replies = batch.map(({ id }) => ({ id, error: (e as Error).message }));
  }
  for (const r of replies) port.postMessage(r);
}

port.on('message', (m: AttemptRequest) => {
  queue.push(m);
  if (!scheduled) {
    scheduled = true;
    setImmediate(run);
  }
});
