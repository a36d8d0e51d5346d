// ops.workerOldSpaceMb → the V8 flag createGateway sets before the workers start (gateway/ops/workerHeap.ts). What it
// does to the workers' collections is measured with the bench under --trace-gc (bench/PROFILE.md), not here.
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../gateway/config.js';
import { applyWorkerOldSpace, mainOldSpaceFloorMb, workerOldSpaceFlag } from '../gateway/ops/workerHeap.js';

describe('worker old space', () => {
  it('gives the workers a first old-generation limit of 48 MB by default; 0 is V8\'s own default', () => {
    expect(loadConfig({}, {}).ops.workerOldSpaceMb).toBe(48);
    expect(workerOldSpaceFlag(64)).toBe('--initial-old-space-size=64');
    expect(workerOldSpaceFlag(0)).toBe('--initial-old-space-size=0');
  });

  it('is set from EARSHOT_WORKER_OLD_SPACE_MB and refuses what V8 would not take', () => {
    expect(loadConfig({ EARSHOT_WORKER_OLD_SPACE_MB: '32' }, {}).ops.workerOldSpaceMb).toBe(32);
    expect(() => loadConfig({ EARSHOT_WORKER_OLD_SPACE_MB: '-1' }, {})).toThrow();
    expect(() => workerOldSpaceFlag(1.5)).toThrow(RangeError);
  });

  it('sets the flag on every build, so that 0 after another value gives V8 its own back', () => {
    const set: string[] = [];
    expect(applyWorkerOldSpace(48, (f) => set.push(f))).toBe('--initial-old-space-size=48');
    expect(applyWorkerOldSpace(0, (f) => set.push(f))).toBe('--initial-old-space-size=0');
    expect(set).toEqual(['--initial-old-space-size=48', '--initial-old-space-size=0']);
  });

  it("reads the main thread's floor from its command line: the last flag wins, 0 or none is V8's own", () => {
    expect(mainOldSpaceFloorMb(['--initial-old-space-size=128', '--import', 'tsx'])).toBe(128);
    expect(mainOldSpaceFloorMb(['--initial-old-space-size=128', '--initial_old_space_size=64'])).toBe(64);
    expect(mainOldSpaceFloorMb(['--initial-old-space-size=128', '--initial-old-space-size=0'])).toBeNull();
    expect(mainOldSpaceFloorMb(['--max-old-space-size=512'])).toBeNull();
    expect(mainOldSpaceFloorMb([])).toBeNull();
  });
});
