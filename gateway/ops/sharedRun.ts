// One run of a start-up task per key, shared by every gateway of the process that asks for it: the warm-ups of the
// listen workers (keyed by the worker set) and of the main thread's call path (one per process, since what V8
// compiled stays compiled). A second gateway starting meanwhile awaits the first one's run rather than repeating it.

export type SharedRun<T> = T & {
  /** False for callers that found the run already started by another. */
  ran: boolean;
};

/**
 * Runs `task` for the first caller with `key` and hands every later caller the same result. A run that failed is
 * forgotten, so the next caller tries again instead of inheriting the failure.
 */
export async function sharedRun<K extends object, T extends object>(runs: WeakMap<K, Promise<T>>, key: K, task: () => Promise<T>): Promise<SharedRun<T>> {
  const known = runs.get(key);
  if (known) return { ...(await known), ran: false };
  const run = task();
  runs.set(key, run);
  run.catch(() => {
    if (runs.get(key) === run) runs.delete(key);
  });
  return { ...(await run), ran: true };
}
