// The realtime files run one after another in one process (vitest.config.ts: `isolate: false`). Every realtime file
// gets these hooks (`setupFiles`, evaluated before each file's own module):
// - a file that leaves a server listening — a gateway it never stopped — fails: it would go on taking connections
//   and CPU while the next files measure latency;
// - the process's shared SQLite handles are closed after each file. A gateway does not close them when it stops
//   (store/Database.ts: one handle per database file for the process, as a production process has one gateway), so
//   each file's data directories would keep a handle and a writer thread (SqliteWriter) for the rest of the run.
import { afterAll } from 'vitest';
import { closeSharedDatabases } from '../../gateway/store/Database.js';

const listening = () => process.getActiveResourcesInfo().filter((r) => r === 'TCPServerWrap').length;

const before = listening();

afterAll(async () => {
  // A server's handle goes a turn or two after its close() has called back.
  for (let i = 0; i < 40 && listening() > before; i++) await new Promise((r) => setTimeout(r, 50));
  closeSharedDatabases();
  const left = listening() - before;
  if (left > 0) throw new Error(`this file left ${left} server(s) listening: stop every gateway and server it starts (realtime files share one process)`);
});
