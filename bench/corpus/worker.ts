// One rendering process of `buildCorpus`: renders the scenario indices it is sent and returns their labels.
import { renderRange } from './build.js';

process.once('message', (m: { seed: number; count: number; out: string; audioDir: string; indices: number[] }) => {
  renderRange(m, undefined, () => process.send!({ done: true })).then(
    (labels) => process.send!({ labels }, () => process.exit(0)),
    (e: Error) => process.send!({ error: e.stack ?? e.message }, () => process.exit(1)),
  );
});
