// ops.heapGrowingPercent → the V8 flag createGateway sets (gateway/ops/heapGrowth.ts). What it does to the
// gateway's collections is measured by the soak (bench/PROFILE.md), not here.
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../gateway/config.js';
import { applyHeapGrowth, heapGrowthFlag } from '../gateway/ops/heapGrowth.js';

describe('heap growth', () => {
  it('leaves V8 its own heuristics by default, and maps a percentage to the flag', () => {
    expect(loadConfig({}, {}).ops.heapGrowingPercent).toBe(0);
    expect(heapGrowthFlag(0)).toBeNull();
    expect(heapGrowthFlag(200)).toBe('--heap-growing-percent=200');
  });

  it('is set from EARSHOT_HEAP_GROWING_PERCENT and refuses what V8 would not take', () => {
    expect(loadConfig({ EARSHOT_HEAP_GROWING_PERCENT: '150' }, {}).ops.heapGrowingPercent).toBe(150);
    expect(() => loadConfig({ EARSHOT_HEAP_GROWING_PERCENT: '-1' }, {})).toThrow();
    expect(() => heapGrowthFlag(1.5)).toThrow(RangeError);
  });

  it('sets the flag once, and leaves V8 alone at 0', () => {
    const set: string[] = [];
    expect(applyHeapGrowth(0, (f) => set.push(f))).toBeNull();
    expect(set).toEqual([]);
    expect(applyHeapGrowth(300, (f) => set.push(f))).toBe('--heap-growing-percent=300');
    expect(set).toEqual(['--heap-growing-percent=300']);
  });
});
