// Runs one hostile client from attacker.worker.ts in its own thread; see there why.
import { spawnWorker } from '../../gateway/infer/spawn.js';

export interface RunningAttack<T> {
  /** Resolves with what the attack reports when it is done. */
  done: Promise<T>;
  /** Asks a flood to stop early (it then reports as usual). */
  stop(): void;
}

export function attack<T = Record<string, unknown>>(kind: string, args: Record<string, unknown>): RunningAttack<T> {
  const w = spawnWorker(new URL('./attacker.worker.ts', import.meta.url), { kind, args });
  const done = new Promise<T>((resolve, reject) => {
    w.once('message', (m: { result?: T; error?: string }) => {
      void w.terminate();
      if (m.error) reject(new Error(`attack ${kind} failed: ${m.error}`));
      else resolve(m.result as T);
    });
    w.once('error', reject);
  });
  return { done, stop: () => w.postMessage('stop') };
}
