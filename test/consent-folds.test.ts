// Cross-speaker selection (bench/consent/folds.ts): a setting is chosen on the other sources' natural answers only,
// never on the held-out source and never on the espeak stress set.
import { describe, expect, it } from 'vitest';
import type { ConsentItem, Expected } from '../bench/consent/corpus.js';
import { arrangementVariants, cutsOf, DEFAULT_RULES, parseArrangement, replayDecisions, type Replays } from '../bench/consent/decisions.js';
import type { ReplayLine } from '../bench/consent/replay.js';
import { choose, leaveOneSourceOut, objective, tally, type Outcome } from '../bench/consent/folds.js';

function item(source: string, expected: Expected, set: 'natural' | 'espeak' = 'natural'): ConsentItem {
  return { label: { file: `${source}/${expected}.wav` } as ConsentItem['label'], set, expected, speaker: source, source };
}

/** Outcomes of a candidate: `right` says, per source, whether it decides that source's answers correctly. */
function outcomes(right: Record<string, boolean>): Outcome[] {
  return Object.entries(right).flatMap(([source, ok]) =>
    (['granted', 'refused'] as const).map((expected) => ({ item: item(source, expected, source === 'espeak' ? 'espeak' : 'natural'), rate: '16k' as const, phase: 0, decision: ok ? expected : ('unclear' as const), latencyMs: 100 })),
  );
}

describe('leave one source out', () => {
  it('chooses on the other sources and scores the held-out one with that choice', () => {
    const a = outcomes({ s1: true, s2: true, s3: false, espeak: false });
    const b = outcomes({ s1: false, s2: false, s3: true, espeak: true });
    const folds = leaveOneSourceOut(['a', 'b'], (c) => (c === 'a' ? a : b));
    expect(folds.map((f) => f.heldOut)).toEqual(['s1', 's2', 's3']);
    // Holding out s3, a wins on s1+s2 and is scored on s3, where it fails: the held-out score shows it.
    const s3 = folds.find((f) => f.heldOut === 's3')!;
    expect(s3.chosen).toBe('a');
    expect(tally(s3.outcomes).perClass.granted.correct).toBe(0);
    // The stress set never votes: b is perfect there and still loses.
    expect(choose(['a', 'b'], (c) => (c === 'a' ? a : b).filter((o) => o.item.set === 'natural'))).toBe('a');
  });

  it('puts no false grant above any recall, and prefers the cheaper of equals', () => {
    const safe = tally(outcomes({ s1: true }));
    const unsafe = tally([...outcomes({ s1: true }), { item: item('s1', 'unclear'), rate: '16k', phase: 0, decision: 'granted', latencyMs: 1 }]);
    expect(unsafe.falseGrants).toBe(1);
    expect(objective(safe)[0]).toBeGreaterThan(objective(unsafe)[0]!);
    const same = outcomes({ s1: true, s2: true });
    expect(choose(['cheap', 'dear'], () => same)).toBe('cheap');
  });

  it('with a tolerance prefers the first-listed (stricter) candidate whose recall is within it of the best', () => {
    const strict = outcomes({ s1: true, s2: true });
    const loose = [...outcomes({ s1: true, s2: true }), { item: item('s1', 'granted'), rate: '16k' as const, phase: 1, decision: 'granted' as const, latencyMs: 1 }];
    // loose has one more yes right: 3/3 against 2/3 granted for strict.
    strict.push({ item: item('s1', 'granted'), rate: '16k', phase: 1, decision: 'unclear', latencyMs: 1 });
    const of = (c: string) => (c === 'strict' ? strict : loose);
    expect(choose(['strict', 'loose'], of)).toBe('loose');
    expect(choose(['strict', 'loose'], of, 0.4)).toBe('strict');
    expect(choose(['strict', 'loose'], of, 0.3)).toBe('loose');
  });

  it('counts grants on hard-negative probes as false grants when choosing, never when scoring', () => {
    const a = outcomes({ s1: true, s2: true });
    const b = outcomes({ s1: true, s2: true });
    const probe = (c: string): Outcome[] => (c === 'a' ? [{ item: item('s1', 'refused'), rate: '8k', phase: 0, decision: 'granted', latencyMs: 1 }] : []);
    expect(choose(['a', 'b'], (c) => (c === 'a' ? a : b))).toBe('a');
    expect(choose(['a', 'b'], (c) => (c === 'a' ? a : b), 0, probe)).toBe('b');
    // A probe on the held-out source does not vote in its own fold.
    const folds = leaveOneSourceOut(['a', 'b'], (c) => (c === 'a' ? a : b), 0, probe);
    expect(folds.find((f) => f.heldOut === 's1')!.chosen).toBe('a');
    expect(folds.find((f) => f.heldOut === 's2')!.chosen).toBe('b');
  });
});

describe('replay arrangements', () => {
  it('names one arrangement per wire rate as "wide|narrow", the rule overrides applying to both', () => {
    const a = parseArrangement('hot2r3x@es160|hot2.5r3x@es160+greedy@es160#lead=200', DEFAULT_RULES);
    expect(a.primary).toBe('hot2r3x@es160');
    expect(a.at8k).toMatchObject({ primary: 'hot2.5r3x@es160', alternatives: ['greedy@es160'] });
    expect(a.rules.maxUnheardLeadMs).toBe(200);
    expect(a.at8k!.rules.maxUnheardLeadMs).toBe(200);
    expect(arrangementVariants(a)).toEqual(['hot2r3x@es160', 'hot2.5r3x@es160', 'greedy@es160']);
  });
});

describe('replays at moved cuts', () => {
  const item = { label: { file: 'natural/x.wav' }, set: 'natural', expected: 'refused', speaker: 'x', source: 's' } as unknown as ConsentItem;
  // One answer: the VAD's own cut heard 算了; the cut moved 40 ms later heard 好好 (the live false grant).
  const line = (cut: string | undefined, tokens: string[], endedT: number): ReplayLine => ({
    variant: 'v', file: 'natural/x.wav', rate: '8k', phase: 0, ...(cut ? { cut } : {}), labelOnsetT: 600, labelEndT: 1000,
    endSilenceMs: 160, preRollMs: 400, tailMs: 480,
    utterances: [{ onsetT: 700, endedT, flushMs: 5, hyp: { tokens, timesMs: tokens.map((_, i) => 40 + 40 * i) } }],
  });
  const replays: Replays = new Map([['v', new Map([
    ['natural/x.wav|8k|0|0:0', line(undefined, ['s', 'uàn', 'l', 'e'], 1160)],
    ['natural/x.wav|8k|0|0:40', line('0:40', ['h', 'ǎo', 'h', 'ǎo'], 1200)],
    ['natural/x.wav|8k|0|0:-88', line('0:-88', ['h', 'ǎo', 'h', 'ǎo'], 1072)],
  ])]]);

  it('lists the VAD\'s own cut first and decides every placement, with a decision time only at the VAD\'s own', () => {
    expect(cutsOf(replays)).toEqual(['0:0', '0:-88', '0:40']);
    const rules = { ...DEFAULT_RULES, minGrantSpeechMs: 0 };
    const ds = replayDecisions([item], replays, parseArrangement('v', rules), [0], undefined, ['8k'], cutsOf(replays));
    expect(ds.map((d) => [d.cut, d.decision])).toEqual([['0:0', 'refused'], ['0:-88', 'granted'], ['0:40', 'granted']]);
    expect(ds.map((d) => d.latencyMs)).toEqual([1160 + 5 - 1000, null, null]);
  });

  it('measures speech from the VAD\'s end, not the moved one, so a cut that ends early makes no fragment of an answer', () => {
    // 300 ms of speech at the VAD's cut: a moved end 88 ms earlier is still 300 ms, above the fragment rule's 96.
    const rules = { ...DEFAULT_RULES, minGrantSpeechMs: 250, fragmentGrants: 'unclear' as const };
    const ds = replayDecisions([item], replays, parseArrangement('v', rules), [0], undefined, ['8k'], ['0:-88']);
    expect(ds[0]).toMatchObject({ decision: 'granted' });
  });

  it('holds an utterance cut inside a syllable and lets the next decide, its lead counted from the held onset (#hold=)', () => {
    const yes = { ...item, expected: 'granted' } as unknown as ConsentItem;
    // 没问题 with a pause inside: 没问 t (160 ms of speech), then the rest, heard whole from its pre-roll.
    const split = (secondTimes: number[]): Replays => new Map([['v', new Map([['natural/x.wav|8k|0|0:0', {
      variant: 'v', file: 'natural/x.wav', rate: '8k', phase: 0, labelOnsetT: 630, labelEndT: 1555, endSilenceMs: 160, preRollMs: 400, tailMs: 480,
      utterances: [
        { onsetT: 672, endedT: 992, flushMs: 5, hyp: { tokens: ['m', 'éi', 'w', 'èn', 't'], timesMs: [-80, -40, 320, 400, 480] } },
        { onsetT: 1216, endedT: 1760, flushMs: 5, hyp: { tokens: ['m', 'éi', 'w', 'èn', 't', 'í'], timesMs: secondTimes } },
      ],
    } satisfies ReplayLine]])]]);
    const heardFromStart = split([-400, -360, -240, -200, 0, 120]);
    const decide = (r: Replays, hold: string) => replayDecisions([yes], r, parseArrangement(`v#hold=${hold}`, DEFAULT_RULES), [0], undefined, ['8k'])[0]!;
    expect(decide(heardFromStart, 'fragment')).toMatchObject({ decision: 'unclear', transcript: 'm éi w èn t' });
    expect(decide(heardFromStart, 'unfinished')).toMatchObject({ decision: 'granted', transcript: 'm éi w èn t í' });
    // A second hearing whose first token lies 544 − 40 = 504 ms after the held onset did not hear the held words.
    expect(decide(split([-40, 0, 40, 80, 120, 160]), 'unfinished')).toMatchObject({ decision: 'unclear' });
    expect(() => parseArrangement('v#hold=sometimes', DEFAULT_RULES)).toThrow(/rule override/);
  });

  it('reads corroboration and fragment rules from a candidate name', () => {
    const a = parseArrangement('hot2r3x+greedy#co=syllable:speech=96:frag=listen', DEFAULT_RULES);
    expect(a.rules).toMatchObject({ corroborate: 'syllable', minGrantSpeechMs: 96, fragmentGrants: 'listen' });
    expect(() => parseArrangement('hot2r3x#co=maybe', DEFAULT_RULES)).toThrow(/rule override/);
  });
});
