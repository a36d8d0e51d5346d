// Runs one attack from bench/attacks.ts in a worker thread (see test/helpers/attack.ts): `{ kind, args }` in,
// `{ result }` or `{ error }` out; 'stop' from the parent ends a flood early.
import { parentPort, workerData } from 'node:worker_threads';
import { runAttack, type AttackArgs } from '../../bench/attacks.js';
import { PROTO_DIR } from '../../gateway/wires/grpc.js';

let stopped = false;
parentPort!.on('message', (m) => {
  if (m === 'stop') stopped = true;
});
const { kind, args } = workerData as { kind: string; args: AttackArgs };
runAttack(kind, { protoDir: PROTO_DIR, ...args }, () => stopped).then(
  (result) => parentPort!.postMessage({ result }),
  (e: Error) => parentPort!.postMessage({ error: e.stack ?? e.message }),
);
