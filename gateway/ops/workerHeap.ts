// Where V8 first collects the old generation of each worker thread's heap (listen shards, recognisers).
//
// V8 starts incremental marking, and so a full mark-compact, whenever an old generation's headroom (its limit minus
// what it holds) is below four times the young generation's capacity, however little is being promoted. A listen
// shard keeps ~10 MB alive and V8 set its limit a few MB above that: with ~8 MB semi-spaces the headroom was always
// under the bar, and each shard ran a full collection every ~3 s, each one holding every frame of the shard's calls,
// a pause decision among them. A higher first limit gives the shards headroom; it costs only the garbage they keep
// until their next collection. In 10-minute soaks the listen shards' full collections (major and incremental, 2 ms or
// more) went 720 → 201–202 at 48 MB and 91 at 64, all their collections 5.0 → 2.6–2.7 and 2.2 s, RSS growth +14 →
// +13–15 and +17 % (runs 24–27, bench/PROFILE.md "GC in the listen workers").
//
// `--initial-old-space-size` is read when an isolate is created, so setting it once the main thread runs reaches only
// the workers started afterwards. The main thread gets its own floor from the command line (the Dockerfile CMD and
// `npm start`: `--initial-old-space-size=128`; ~40 MB live, a major collection every few seconds without it), and
// this runtime value then replaces it for the workers.
import { setFlagsFromString } from 'node:v8';

/** The main thread's floor from its command line (`--initial-old-space-size=N`, the last one wins), or null. */
export function mainOldSpaceFloorMb(execArgv: readonly string[]): number | null {
  let mb: number | null = null;
  for (const a of execArgv) {
    const m = /^--initial[-_]old[-_]space[-_]size=(\d+)$/.exec(a);
    if (m) mb = Number(m[1]) || null;
  }
  return mb;
}

/** The V8 flag for `ops.workerOldSpaceMb`; 0 is V8's own default (its heuristics choose the limit). */
export function workerOldSpaceFlag(mb: number): string {
  if (!Number.isInteger(mb) || mb < 0) throw new RangeError(`worker old space must be a non-negative integer of MB, got ${mb}`);
  return `--initial-old-space-size=${mb}`;
}

/**
 * Sets it for the workers started from now on; call before the first worker starts. Always set, 0 included: the flag
 * is the process's, and a gateway built after another one in the same process (tests) must not inherit its value.
 */
export function applyWorkerOldSpace(mb: number, set: (flag: string) => void = setFlagsFromString): string {
  const flag = workerOldSpaceFlag(mb);
  set(flag);
  return flag;
}
