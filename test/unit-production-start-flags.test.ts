// The gateway's production start is written once (the Dockerfile's CMD): `npm start` must run the same command, and
// the bench and the soak must start their gateway with its Node flags, or they measure something that does not ship.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../gateway/models.js';
import { gatewayNodeArgs, productionCommand, productionNodeFlags } from '../bench/productionStart.js';

describe('production start flags', () => {
  it('npm start runs exactly the Dockerfile CMD', () => {
    const pkg = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts.start).toBe(productionCommand().join(' '));
  });

  it('gives the main thread a heap floor, so that V8 skips major collections below it', () => {
    expect(productionNodeFlags()).toContain('--initial-old-space-size=128');
  });

  it('reads the flags between node and the loader, and refuses any other shape', () => {
    const cmd = ['node', '--a=1', '--b', '--import', 'tsx', 'gateway/main.ts'];
    expect(productionNodeFlags(cmd)).toEqual(['--a=1', '--b']);
    expect(productionNodeFlags(['node', '--import', 'tsx', 'x.ts'])).toEqual([]);
    expect(() => productionNodeFlags(['npm', 'start'])).toThrow(/does not start with node/);
    expect(() => productionNodeFlags(['node', 'gateway/main.js'])).toThrow(/no --import/);
    expect(() => productionCommand('FROM node:20\nCMD npm start\n')).toThrow(/no exec-form CMD/);
  });

  it("starts a bench gateway with production's flags, then the bench's own (a later V8 flag wins)", () => {
    const cmd = ['node', '--initial-old-space-size=128', '--import', 'tsx', 'gateway/main.ts'];
    expect(gatewayNodeArgs({}, cmd)).toEqual(['--initial-old-space-size=128']);
    expect(gatewayNodeArgs({ BENCH_GATEWAY_NODE_ARGS: ' --trace-gc  --initial-old-space-size=0 ' }, cmd)).toEqual(['--initial-old-space-size=128', '--trace-gc', '--initial-old-space-size=0']);
  });
});
