// Plain-JS entry for helper processes (OffProcess): registers tsx's loader, then loads the TypeScript module named by
// the parent, as worker-entry.mjs does for worker threads.
import { register } from 'tsx/esm/api';

register();
await import(process.argv[2]);
