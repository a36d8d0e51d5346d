// How far V8 lets the main thread's old generation grow before it collects it again.
//
// V8 starts incremental marking as soon as the old generation's headroom (its limit minus what it holds) is less
// than four times the young generation's capacity — 64 MB with the default 16 MB semi-spaces — however little is
// actually being promoted. The gateway keeps ~45 MB alive under load, and V8's own growing factor (~1.5 at this
// size) gave it ~24 MB of headroom: a full mark-compact every ~0.6–1.4 s (p95 26, max 45 ms on the event loop, each
// freeing only ~8 MB). A growing factor of 3 (`--heap-growing-percent` 200) leaves ~90 MB of headroom at that
// size: one every ~20 s. It is off by default (0): in two 10-minute soaks it took the late calls only from 0.8 to
// 0.5 % and grew RSS by 22–26 %, past the soak's 20 % bar (bench/PROFILE.md, "GC"). A deployment with memory to
// spare and a tighter latency tail may set it. The flag is process-wide: the workers follow it too.
import { setFlagsFromString } from 'node:v8';

/** The V8 flag for `ops.heapGrowingPercent`, or null to leave V8's own heuristics (0). */
export function heapGrowthFlag(percent: number): string | null {
  if (!Number.isInteger(percent) || percent < 0) throw new RangeError(`heap growing percent must be a non-negative integer, got ${percent}`);
  return percent === 0 ? null : `--heap-growing-percent=${percent}`;
}

/**
 * Applies the growing factor to this process. V8 reads it each time it sets a generation's next limit (after a
 * collection), so setting it once the process runs takes effect from the next collection on.
 */
export function applyHeapGrowth(percent: number, set: (flag: string) => void = setFlagsFromString): string | null {
  const flag = heapGrowthFlag(percent);
  if (flag) set(flag);
  return flag;
}
