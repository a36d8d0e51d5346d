// How production starts the gateway, read from the one place that says it: the Dockerfile's exec-form CMD
// (`npm start` runs the same command; test/unit-production-start-flags.test.ts keeps the two equal). The bench, the
// soak and the fleet bench start their gateway with the same Node flags, so that what they measure is what runs.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../gateway/models.js';

/** The Dockerfile's CMD, exec form, as its argument list: ['node', …flags, '--import', 'tsx', 'gateway/main.ts']. */
export function productionCommand(dockerfile = readFileSync(join(PROJECT_ROOT, 'Dockerfile'), 'utf8')): string[] {
  const m = /^CMD\s+(\[.*\])\s*$/m.exec(dockerfile);
  if (!m) throw new Error('Dockerfile has no exec-form CMD');
  return JSON.parse(m[1]) as string[];
}

/** The Node flags of the production command: what comes between `node` and the loader (`--import tsx`). */
export function productionNodeFlags(command = productionCommand()): string[] {
  if (command[0] !== 'node') throw new Error(`the production command does not start with node: ${command.join(' ')}`);
  const loader = command.indexOf('--import');
  if (loader < 0) throw new Error(`the production command has no --import loader: ${command.join(' ')}`);
  return command.slice(1, loader);
}

/**
 * A bench-started gateway's Node flags: production's, then `BENCH_GATEWAY_NODE_ARGS` (profiling, or a flag to try:
 * a later V8 flag overrides an earlier one of the same name).
 */
export function gatewayNodeArgs(env: NodeJS.ProcessEnv = process.env, command = productionCommand()): string[] {
  return [...productionNodeFlags(command), ...(env.BENCH_GATEWAY_NODE_ARGS?.split(' ').filter(Boolean) ?? [])];
}
