// gateway/ops/stallRecorder.ts (timestamped stalls) and bench/stallJoin.ts (late calls joined to them).
import { describe, expect, it } from 'vitest';
import { StallRecorder, stallOf, type StallLine } from '../gateway/ops/stallRecorder.js';
import { attribute, type HostSample } from '../bench/stallJoin.js';
import { labeller, whoRan, type ThreadSample } from '../bench/threadJoin.js';

describe('stallRecorder', () => {
  it('a tick later than its interval plus the threshold is a stall that began at the previous tick', () => {
    expect(stallOf(100, 105, 5, 15)).toBeNull();
    expect(stallOf(100, 120, 5, 15)).toBeNull();
    expect(stallOf(100, 160, 5, 15)).toEqual({ start: 100, ms: 55 });
  });

  it('writes each stall once, in a batch, with its epoch start and thread', () => {
    let now = 0;
    const out: string[] = [];
    // schedstat: on a core 1 ms per tick, and 50 ms more (plus 20 ms waiting for a core) across the stall.
    let sched: [number, number] = [0, 0];
    const r = new StallRecorder({ file: '-', thread: 'main', intervalMs: 5, thresholdMs: 15, now: () => now, write: (t) => out.push(t), sched: () => sched });
    for (const t of [5, 10, 15, 95, 100, 105]) {
      now = t;
      sched = t === 95 ? [sched[0] + 50e6, sched[1] + 20e6] : [sched[0] + 1e6, sched[1]];
      r.tick();
    }
    r.flush();
    r.flush();
    expect(out).toHaveLength(1);
    const lines = out[0].trim().split('\n').map((l) => JSON.parse(l) as StallLine);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ th: 'main', ev: 'stall', ms: 75, run: 50, wait: 20 });
    expect(lines[0].t).toBeCloseTo(performance.timeOrigin + 15, 3);
  });
});

describe('stallJoin', () => {
  const T = 1_700_000_000_000;
  const host: HostSample[] = Array.from({ length: 11 }, (_, i) => ({ t: T + i * 1000, hostBusyMs: i * 1500, gatewayCpuMs: i * 800, selfCpuMs: i * 200 }));
  const stalls: StallLine[] = [
    { th: 'main', ev: 'stall', t: T + 2000, ms: 120, run: 90, wait: 25 },
    { th: 'main', ev: 'gc', t: T + 2010, ms: 40, kind: 'major' },
    { th: 'listen-3', ev: 'stall', t: T + 2050, ms: 30 },
    { th: 'soak', ev: 'stall', t: T + 7000, ms: 80 },
    { th: 'main', ev: 'stall', t: T + 5000, ms: 12 },
  ];
  const attacks = [
    { kind: 'bigMessages', from: T + 1900, to: T + 2300 },
    { kind: 'slowloris', from: T + 4000, to: T + 9000 },
  ];
  const late = [
    { scenarioId: 'a', why: 'pauseWallMs 230 > 150', window: 0, from: T + 1950, to: T + 2180 },
    { scenarioId: 'b', why: 'pauseWallMs 170 > 150', window: 0, from: T + 6950, to: T + 7120 },
    { scenarioId: 'c', why: 'consentMs 510 > 500', window: 0, from: T + 8000, to: T + 8500 },
  ];

  it('names the thread stalled longest in each late call, with the collections and attacks in its span', () => {
    const a = attribute(stalls, attacks, host, late);
    expect(a.calls.map((c) => c.cause)).toEqual(['gateway main', 'soak loop', 'none']);
    expect(a.calls[0].main).toEqual({ stalledMs: 120, maxMs: 120, gcMs: 40, majorGcMs: 40, runMs: 90, waitMs: 25 });
    expect(a.calls[0].worker).toMatchObject({ thread: 'listen-3', stalledMs: 30 });
    expect(a.calls[0].attacks).toEqual(['bigMessages']);
    expect(a.calls[1].attacks).toEqual(['slowloris']);
    // 1500 busy − 800 gateway − 200 soak per second: 50 % of a core of other work.
    expect(a.calls[0].otherCpuPct).toBe(50);
    expect(a.byCause).toEqual({ 'gateway main': 1, 'soak loop': 1, none: 1 });
  });

  it('sets each attack’s share of the main thread’s stalled time beside its share of the run', () => {
    const a = attribute(stalls, attacks, host, late);
    expect(a.mainStalls).toMatchObject({ n: 2, ms: 132, gcMs: 40, over50: 1, runMs: 90, waitMs: 25 });
    const big = a.attacks.find((s) => s.kind === 'bigMessages')!;
    expect(big.timeShare).toBeCloseTo(0.04, 3);
    // The 120 ms stall falls in its span (100 ms of the 400 ms span cover 2000–2120 fully: 120 ms).
    expect(big.stallShare).toBeCloseTo(120 / 132, 3);
    expect(a.attacks[0].kind).toBe('bigMessages');
  });
});

describe('threadJoin', () => {
  const stalls: StallLine[] = [
    { th: 'main', ev: 'tid', t: 0, ms: 0, kind: '10/10' },
    { th: 'listen-2', ev: 'tid', t: 0, ms: 0, kind: '10/12' },
    { th: 'asr-4', ev: 'tid', t: 0, ms: 0, kind: '10/14' },
  ];
  const label = labeller(stalls, 10, 20);
  const s = (t: number, host: number, cpu: Record<string, number>): ThreadSample => ({ t, host, cpu });
  const samples = [
    s(0, 0, { '10/10': 0, '10/12': 0, '10/14': 0, '10/15': 0, '20/20': 0, '20/21': 0 }),
    s(20, 30, { '10/10': 5, '10/12': 10, '10/14': 5, '10/15': 0, '20/20': 0, '20/21': 5 }),
    s(40, 70, { '10/10': 10, '10/12': 10, '10/14': 20, '10/15': 3, '20/20': 2, '20/21': 10 }),
  ];

  it('an ASR worker in a helper process of its own is the gateway’s ASR, every thread of it', () => {
    const l = labeller([...stalls, { th: 'asr-process-40', ev: 'tid', t: 0, ms: 0, kind: '40/40' }], 10, 20);
    expect(['40/40', '40/41', '10/14', '30/30'].map(l)).toEqual(['gateway asr', 'gateway asr', 'gateway asr', 'other processes']);
  });

  it('names each thread from the recorders’ tid lines and the two processes', () => {
    expect(['10/10', '10/12', '10/14', '10/15', '20/20', '20/21', '30/30'].map(label)).toEqual([
      'gateway main', 'gateway listen', 'gateway asr', 'gateway other threads', 'soak main', 'soak other threads', 'other processes',
    ]);
  });

  it('sums what each ran in a stall, and counts the host’s busy time no thread accounts for as other processes', () => {
    const r = whoRan([{ t: 25, ms: 10 }], samples, label);
    // Bracketed by the samples at 20 and 40: host 40 ms busy, threads 5+0+15+3+2+5 = 30, other processes 10.
    expect(r).toEqual({ ms: 20, spans: 1, cpu: { 'gateway main': 5, 'gateway listen': 0, 'gateway asr': 15, 'gateway other threads': 3, 'soak main': 2, 'soak other threads': 5, 'other processes': 10 } });
    // Two stalls inside the same samples count once.
    expect(whoRan([{ t: 25, ms: 5 }, { t: 31, ms: 5 }], samples, label).ms).toBe(20);
  });
});
