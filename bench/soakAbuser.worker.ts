// The soak's abusive clients (bench/soak.ts): a worker thread that runs the attacks of bench/attacks.ts round
// robin, `parallel` at a time, until told to stop, posting each outcome. Its own event loop, so that the floods'
// client-side work does not delay the normal calls' pacing in the soak's main thread.
import { parentPort, workerData } from 'node:worker_threads';
import { attacks, preloadAttacks, runAttack, type AttackArgs } from './attacks.js';

const { args, parallel, kinds, pauseMs } = workerData as { args: AttackArgs; parallel: number; kinds: string[]; pauseMs: number };
let stopped = false;
let go: () => void;
const started = new Promise<void>((resolve) => (go = resolve));
parentPort!.on('message', (m) => {
  if (m === 'stop') stopped = true;
  if (m === 'go') go();
});

let n = 0;
async function loop(lane: number): Promise<void> {
  for (let i = lane; !stopped; i += parallel) {
    const kind = kinds[i % kinds.length];
    const t0 = performance.now();
    try {
      const result = await runAttack(kind, { ...args, callId: `abuse-${kind}-${n++}` }, () => stopped);
      parentPort!.postMessage({ kind, ok: true, ms: Math.round(performance.now() - t0), result });
    } catch (e) {
      parentPort!.postMessage({ kind, ok: false, ms: Math.round(performance.now() - t0), error: (e as Error).message });
    }
    await new Promise((r) => setTimeout(r, pauseMs));
  }
}

const unknown = kinds.filter((k) => !attacks[k]);
if (unknown.length) throw new Error(`unknown attacks: ${unknown.join(', ')}`);
// Loaded: the soak starts its clock and the calls, then says go.
preloadAttacks(args);
parentPort!.postMessage({ ready: true });
await started;
await Promise.all(Array.from({ length: parallel }, (_, lane) => loop(lane)));
parentPort!.postMessage({ done: true });
