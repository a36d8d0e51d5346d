// decideConsent: how what was heard of one answer becomes one decision. Pure logic over hypotheses written by hand
// in the recogniser's own token form (pinyin initials and tonal finals), so every fusion and safety rule is pinned.
import { describe, expect, it } from 'vitest';
import {
  ConsentClassifier, charsToPinyinTokens, decideConsent, longestGapMs, type DecisionRules, type Heard, type Hypothesis,
} from '../gateway/listen/consent/index.js';
import type { Calibration } from '../gateway/listen/consent/calibration.js';

const ctx = { classifier: new ConsentClassifier(), tokenType: 'pinyin-initial-final' as const, language: 'zh' as const };
const RULES: DecisionRules = { minGrantConfidence: 0.8, maxUnheardLeadMs: 400, maxUnheardGapMs: 400, minUnclearSpeechMs: 250 };

/** A hypothesis of `chars` in the model's tokens, one token every `step` ms from `startMs`. */
function hyp(chars: string, startMs = 40, step = 80): Hypothesis {
  const tokens = chars ? charsToPinyinTokens(chars).split(' ') : [];
  return { text: tokens.join(' '), tokens, tokenMs: tokens.map((_, i) => startMs + i * step), leadMs: tokens.length ? startMs : null };
}

function heard(main: string, more: Partial<Heard> = {}): Heard {
  return { main: 'recogniser', hypotheses: [hyp(main)], speechMs: 600, ...more };
}

const spotted = (...phrases: string[]) => phrases.map((keyword, i) => ({ keyword, startTime: 0.1 + i * 0.3, endTime: 0.3 + i * 0.3 }));

describe('one opinion', () => {
  it('grants an explicit consent phrase and refuses a refusal', () => {
    expect(decideConsent(heard('可以'), ctx, RULES)).toMatchObject({ decision: 'granted', phrase: '可以', transcript: 'k ě y ǐ' });
    expect(decideConsent(heard('不可以'), ctx, RULES)).toMatchObject({ decision: 'refused', phrase: '不可以' });
    expect(decideConsent(heard('别打了'), ctx, RULES)).toMatchObject({ decision: 'refused', complaint: true });
  });

  it('refuses a complaint the lexicon cannot spell (别打了 misheard as b ié d ǎ d é)', () => {
    const v = decideConsent({ main: 'recogniser', hypotheses: [{ text: 'b ié d ǎ d é', leadMs: 40 }], speechMs: 700 }, ctx, RULES)!;
    expect(v).toMatchObject({ decision: 'refused', complaint: true });
  });

  it('keeps listening after a short noise with nothing recognised, and calls long unrecognised speech unclear', () => {
    expect(decideConsent(heard('', { speechMs: 120 }), ctx, RULES)).toBeNull();
    expect(decideConsent(heard('', { speechMs: 400 }), ctx, RULES)).toMatchObject({ decision: 'unclear', cue: 'empty' });
  });
});

describe('safety rules on a grant', () => {
  it('does not grant when the recogniser lost the start of the answer (你 of 你是谁 lost, leaving 是)', () => {
    const h = { ...hyp('是', 520), leadMs: 520 };
    expect(decideConsent({ main: 'recogniser', hypotheses: [h], speechMs: 700 }, ctx, RULES)).toMatchObject({ decision: 'unclear' });
    expect(decideConsent({ main: 'recogniser', hypotheses: [{ ...h, leadMs: 300, tokenMs: [300, 340] }], speechMs: 700 }, ctx, RULES)).toMatchObject({ decision: 'granted' });
  });

  it('does not grant when the last syllable was cut off (可以吗 heard 可以 m: the unfinished syllable may be 吗)', () => {
    const cut = hyp('可以');
    const h = { ...cut, tokens: [...cut.tokens!, 'm'], text: `${cut.text} m`, tokenMs: [...cut.tokenMs!, 360] };
    expect(decideConsent({ main: 'recogniser', hypotheses: [h], speechMs: 600 }, ctx, RULES)).toMatchObject({ decision: 'unclear', reason: expect.stringMatching(/cut off/) });
    expect(decideConsent(heard('可以'), ctx, RULES)).toMatchObject({ decision: 'granted' });
  });

  it('does not grant when a long stretch between two recognised syllables was heard as nothing (我…愿意: a lost 不)', () => {
    const tokens = charsToPinyinTokens('我愿意').split(' ');
    const gappy: Hypothesis = { text: tokens.join(' '), tokens, tokenMs: [40, 80, 720, 760, 880, 920], leadMs: 40 };
    expect(longestGapMs(gappy, 'pinyin-initial-final')).toBe(640);
    expect(decideConsent({ main: 'recogniser', hypotheses: [gappy], speechMs: 1100 }, ctx, RULES)).toMatchObject({ decision: 'unclear' });
    const fluent: Hypothesis = { ...gappy, tokenMs: [40, 80, 320, 360, 480, 520] };
    expect(decideConsent({ main: 'recogniser', hypotheses: [fluent], speechMs: 700 }, ctx, RULES)).toMatchObject({ decision: 'granted' });
  });

  it('counts the gap between syllables, not between an initial and its final', () => {
    const slow: Hypothesis = { text: 'h ǎo', tokens: ['h', 'ǎo'], tokenMs: [40, 700], leadMs: 40 };
    expect(longestGapMs(slow, 'pinyin-initial-final')).toBe(0);
    expect(decideConsent({ main: 'recogniser', hypotheses: [slow], speechMs: 900 }, ctx, RULES)).toMatchObject({ decision: 'granted' });
  });

  it('does not grant on a fragment of speech too short to hold the answer (什 of 什么, 48 ms, heard as 是)', () => {
    const rules = { ...RULES, minGrantSpeechMs: 96 };
    expect(decideConsent(heard('是', { speechMs: 48 }), ctx, rules)).toMatchObject({ decision: 'unclear' });
    expect(decideConsent(heard('是', { speechMs: 200 }), ctx, rules)).toMatchObject({ decision: 'granted' });
    // A refusal is never held back by it.
    expect(decideConsent(heard('不', { speechMs: 48 }), ctx, rules)).toMatchObject({ decision: 'refused' });
    // fragmentGrants listen: the fragment is no answer at all, the window keeps listening; a refusal still decides.
    const listen = { ...rules, fragmentGrants: 'listen' as const };
    expect(decideConsent(heard('好好', { speechMs: 32 }), ctx, listen)).toBeNull();
    expect(decideConsent(heard('好', { speechMs: 192 }), ctx, listen)).toMatchObject({ decision: 'granted' });
    expect(decideConsent(heard('算了', { speechMs: 32 }), ctx, listen)).toMatchObject({ decision: 'refused' });
  });

  it('lets the answer after a fragment decide when nothing placeable was heard in the fragment (8 kHz: x of 行 heard 你)', () => {
    const rules = { ...RULES, minGrantSpeechMs: 96, fragmentGrants: 'listen' as const };
    // Default (unset) and `unclear`: words nobody could place end the window, whatever the speech length.
    expect(decideConsent(heard('你', { speechMs: 32 }), ctx, rules)).toMatchObject({ decision: 'unclear', cue: 'none' });
    expect(decideConsent(heard('你', { speechMs: 32 }), ctx, rules)?.provisional).toBeUndefined();
    // `listen`: unclear only provisionally (it stands only if nothing follows: ConsentSession holds it).
    const listen = { ...rules, fragmentUnplaced: 'listen' as const };
    expect(decideConsent(heard('你', { speechMs: 32 }), ctx, listen)).toMatchObject({ decision: 'unclear', provisional: true });
    expect(decideConsent(heard('谢谢', { speechMs: 64 }), ctx, listen)).toMatchObject({ decision: 'unclear', provisional: true });
    // Not a fragment: still an answer nobody could place, and final.
    expect(decideConsent(heard('你', { speechMs: 96 }), ctx, listen)).toMatchObject({ decision: 'unclear' });
    expect(decideConsent(heard('你', { speechMs: 96 }), ctx, listen)?.provisional).toBeUndefined();
    // A refusal, a question or a hesitation in a fragment still decides.
    expect(decideConsent(heard('不', { speechMs: 32 }), ctx, listen)).toMatchObject({ decision: 'refused' });
    expect(decideConsent(heard('不', { speechMs: 32 }), ctx, listen)?.provisional).toBeUndefined();
    expect(decideConsent(heard('谁', { speechMs: 32 }), ctx, listen)?.decision).toBe('unclear');
  });

  it('holds an utterance the VAD ended inside a syllable (unplacedHold: unfinished), whatever its length', () => {
    const listen = { ...RULES, minGrantSpeechMs: 96, fragmentGrants: 'listen' as const, fragmentUnplaced: 'listen' as const };
    // 没问题 with a pause inside it at 8 kHz: the VAD ends speech after 没问 and the first hearing is "m éi w èn t".
    const cut: Hypothesis = { text: 'm éi w èn t', tokens: ['m', 'éi', 'w', 'èn', 't'], tokenMs: [-80, -40, 320, 400, 480], leadMs: -80 };
    const first: Heard = { main: 'recogniser', hypotheses: [cut], speechMs: 160 };
    // `fragment` (the old behaviour): 160 ms is no fragment, so the window ends unclear on it.
    expect(decideConsent(first, ctx, { ...listen, unplacedHold: 'fragment' })?.provisional).toBeUndefined();
    expect(decideConsent(first, ctx, { ...listen, unplacedHold: 'unfinished' })).toMatchObject({ decision: 'unclear', provisional: true });
    // Its syllables all finished: `unfinished` does not hold it, `any` does.
    const whole: Heard = { main: 'recogniser', hypotheses: [hyp('没问')], speechMs: 160 };
    expect(decideConsent(whole, ctx, { ...listen, unplacedHold: 'unfinished' })?.provisional).toBeUndefined();
    expect(decideConsent(whole, ctx, { ...listen, unplacedHold: 'any' })).toMatchObject({ decision: 'unclear', provisional: true });
    // Only unplaced words are held: a refusal, question or a cut-off yes still decide at once.
    expect(decideConsent(heard('不', { speechMs: 160 }), ctx, { ...listen, unplacedHold: 'any' })).toMatchObject({ decision: 'refused' });
    const cutYes: Hypothesis = { text: 'k ě y ǐ m', tokens: ['k', 'ě', 'y', 'ǐ', 'm'], tokenMs: [40, 120, 200, 280, 360], leadMs: 40 };
    expect(decideConsent({ main: 'recogniser', hypotheses: [cutYes], speechMs: 400 }, ctx, { ...listen, unplacedHold: 'unfinished' })).toMatchObject({ decision: 'unclear', cue: 'consent' });
    // Not without fragmentUnplaced: listen.
    expect(decideConsent(first, ctx, { ...RULES, unplacedHold: 'any' })?.provisional).toBeUndefined();
  });

  it('counts the held speech into the unheard lead of the utterance after it', () => {
    // The hearing after the held part heard 没问题 from 400 ms before its own onset (its pre-roll).
    const next: Hypothesis = hyp('没问题', -400, 80);
    expect(decideConsent({ main: 'recogniser', hypotheses: [next], speechMs: 384, heldOnsetMs: 544 }, ctx, RULES)).toMatchObject({ decision: 'granted' });
    // Held speech the hearing after it did not reach back to (lead 1000 − 400 = 600 ms > 400): what was said first is
    // unknown, so the yes after it is not explicit.
    expect(decideConsent({ main: 'recogniser', hypotheses: [hyp('好', 40)], speechMs: 300, heldOnsetMs: 1000 }, ctx, RULES)).toMatchObject({ decision: 'unclear' });
    expect(decideConsent({ main: 'recogniser', hypotheses: [hyp('好', 40)], speechMs: 300 }, ctx, RULES)).toMatchObject({ decision: 'granted' });
  });

  it('does not grant when a token of the yes was hardly supported by the audio (unboosted log-probability)', () => {
    const rules = { ...RULES, minGrantLogProb: -2 };
    const weak: Hypothesis = { ...hyp('好'), logProbs: [-2.6, -0.3] };
    expect(decideConsent({ main: 'recogniser', hypotheses: [weak], speechMs: 500 }, ctx, rules)).toMatchObject({ decision: 'unclear' });
    expect(decideConsent({ main: 'recogniser', hypotheses: [{ ...weak, logProbs: [-0.4, -0.3] }], speechMs: 500 }, ctx, rules)).toMatchObject({ decision: 'granted' });
    // Without per-token scores the rule has nothing to judge and leaves the grant to the other rules.
    expect(decideConsent({ main: 'recogniser', hypotheses: [hyp('好')], speechMs: 500 }, ctx, rules)).toMatchObject({ decision: 'granted' });
  });

  it('does not grant a yes-word that covers too little of what was heard', () => {
    expect(decideConsent(heard('是要买什么东西'), ctx, RULES)?.decision).not.toBe('granted');
  });
});

describe('second opinions can only make granted harder', () => {
  it('a refusal heard only by the keyword spotter refuses an answer the recogniser could not place', () => {
    const v = decideConsent(heard('不要啊', { hypotheses: [hyp('我要啊')], spotted: spotted('不要') }), ctx, RULES)!;
    expect(v).toMatchObject({ decision: 'refused', phrase: '不要' });
    expect(v.reason).toContain('spotter');
  });

  it('a refusal heard by another opinion turns the recogniser\'s grant into unclear, never into granted', () => {
    expect(decideConsent(heard('可以', { spotted: spotted('不可以') }), ctx, RULES)).toMatchObject({ decision: 'unclear', cue: 'refusal' });
    expect(decideConsent(heard('可以', { hypotheses: [hyp('可以'), hyp('不可以')] }), ctx, RULES)).toMatchObject({ decision: 'unclear' });
  });

  it('a question or hesitation heard by another opinion stops a grant', () => {
    expect(decideConsent(heard('可以', { hypotheses: [hyp('可以'), hyp('可以吗')] }), ctx, RULES)).toMatchObject({ decision: 'unclear', cue: 'question' });
    expect(decideConsent(heard('好', { spotted: spotted('好', '考虑一下') }), ctx, RULES)).toMatchObject({ decision: 'unclear' });
  });

  it('a grant heard only by a second opinion is not a grant: the recogniser\'s transcript must agree', () => {
    expect(decideConsent(heard('他们', { spotted: spotted('可以') }), ctx, RULES)?.decision).toBe('unclear');
    expect(decideConsent(heard('他们', { hypotheses: [hyp('他们'), hyp('可以')] }), ctx, RULES)?.decision).toBe('unclear');
    expect(decideConsent({ main: 'recogniser', hypotheses: [], spotted: spotted('可以'), speechMs: 500 }, ctx, RULES)?.decision).toBe('unclear');
  });

  it('a second opinion that agrees, or heard nothing, leaves the grant', () => {
    expect(decideConsent(heard('可以', { spotted: spotted('可以') }), ctx, RULES)).toMatchObject({ decision: 'granted' });
    expect(decideConsent(heard('可以', { hypotheses: [hyp('可以'), hyp('')] }), ctx, RULES)).toMatchObject({ decision: 'granted' });
  });

  it('with requireAgreement every other hearing must grant too', () => {
    const rules = { ...RULES, requireAgreement: true };
    expect(decideConsent(heard('可以', { hypotheses: [hyp('可以'), hyp('可以')] }), ctx, rules)).toMatchObject({ decision: 'granted' });
    expect(decideConsent(heard('可以', { hypotheses: [hyp('可以'), hyp('他们')] }), ctx, rules)).toMatchObject({ decision: 'unclear' });
  });

  it('corroborate syllable: the unbiased hearing must have heard a syllable of the grant (算了 heard 好好好 under the bias)', () => {
    const rules: DecisionRules = { ...RULES, corroborate: 'syllable' };
    // (算了 itself is a refusal, which stops the grant under every rule; a word outside the lexicon does not.)
    const invented = decideConsent(heard('好好好', { hypotheses: [hyp('好好好'), hyp('算啦')] }), ctx, rules)!;
    expect(invented).toMatchObject({ decision: 'unclear', reason: expect.stringMatching(/did not corroborate/) });
    // The bias repaired a tone or a final the unbiased hearing got wrong: the word was there, the grant stands.
    const repaired = { ...hyp('可以'), tokens: ['k', 'ě', 'y', 'ī'], text: 'k ě y ī' };
    expect(decideConsent(heard('可以', { hypotheses: [hyp('可以'), repaired] }), ctx, rules)).toMatchObject({ decision: 'granted' });
    // A fragment the biased search made a yes of, where the unbiased one heard nothing at all, corroborates nothing.
    expect(decideConsent(heard('是', { hypotheses: [hyp('是'), hyp('')] }), ctx, rules)).toMatchObject({ decision: 'unclear' });
    expect(decideConsent(heard('是', { hypotheses: [hyp('是'), hyp('')] }), ctx, RULES)).toMatchObject({ decision: 'granted' });
    expect(decideConsent(heard('好好好', { hypotheses: [hyp('好好好'), hyp('好好好')] }), ctx, { ...RULES, corroborate: 'none' })).toMatchObject({ decision: 'granted' });
    expect(decideConsent(heard('好好好', { hypotheses: [hyp('好好好'), hyp('算啦')] }), ctx, { ...RULES, corroborate: 'none' })).toMatchObject({ decision: 'granted' });
  });

  it('corroborate repeats: a grant of one repeated syllable needs the other hearing to grant; agree: every grant does', () => {
    const repeats: DecisionRules = { ...RULES, corroborate: 'repeats' };
    expect(decideConsent(heard('好好好', { hypotheses: [hyp('好好好'), hyp('他们')] }), ctx, repeats)).toMatchObject({ decision: 'unclear' });
    expect(decideConsent(heard('好的', { hypotheses: [hyp('好的'), hyp('他们')] }), ctx, repeats)).toMatchObject({ decision: 'granted' });
    expect(decideConsent(heard('对对', { hypotheses: [hyp('对对'), hyp('对对')] }), ctx, repeats)).toMatchObject({ decision: 'granted' });
    const agree: DecisionRules = { ...RULES, corroborate: 'agree' };
    expect(decideConsent(heard('好的', { hypotheses: [hyp('好的'), hyp('他们')] }), ctx, agree)).toMatchObject({ decision: 'unclear' });
    expect(decideConsent(heard('好的', { hypotheses: [hyp('好的'), hyp('好的')] }), ctx, agree)).toMatchObject({ decision: 'granted' });
  });

  it('in keyword-spotting mode the spotter carries the decision', () => {
    const v = decideConsent({ main: 'spotter', hypotheses: [], spotted: spotted('可以'), speechMs: 500 }, ctx, RULES)!;
    expect(v).toMatchObject({ decision: 'granted', transcript: '可以' });
    expect(decideConsent({ main: 'spotter', hypotheses: [], spotted: spotted('不', '可以'), speechMs: 500 }, ctx, RULES)?.decision).toBe('refused');
  });
});

describe('confidence', () => {
  it('is the classifier match score without a calibration, and the calibrated probability with one', () => {
    const plain = decideConsent(heard('可以'), ctx, RULES)!;
    expect(plain.confidence).toBe(plain.match);
    const cal: Calibration = {
      features: ['match', 'meanLogProb', 'minLogProb', 'agreement', 'opinions'],
      granted: { bias: 1, weights: [0, 0, 0, 0, 0] },
      refused: { bias: -1, weights: [0, 0, 0, 0, 0] },
      unclear: { bias: 0, weights: [0, 0, 0, 0, 0] },
    };
    const v = decideConsent(heard('可以'), { ...ctx, calibration: cal }, RULES)!;
    expect(v.confidence).toBeCloseTo(1 / (1 + Math.exp(-1)), 3);
    expect(v.match).toBe(plain.match);
    expect(decideConsent(heard('不行'), { ...ctx, calibration: cal }, RULES)!.confidence).toBeCloseTo(1 / (1 + Math.exp(1)), 3);
  });
});

describe('a second hearing of an answer the first could not place (consent.rehear)', () => {
  const unplaced = { text: 'd uō', tokens: ['d', 'uō'], tokenMs: [40, 80], leadMs: 40 };

  it('grants the yes only the second hearing heard, where the first placed nothing, without grantFromAlternative', () => {
    const v = decideConsent({ main: 'recogniser', hypotheses: [unplaced, { ...hyp('对'), reheard: true }], speechMs: 600 }, ctx, RULES)!;
    expect(v).toMatchObject({ decision: 'granted', transcript: 'd uō' });
    expect(v.opinions.find((o) => o.source === 'alternative')).toMatchObject({ reheard: true });
  });

  it('does not let an engine beside the recogniser grant alone (only with grantFromAlternative: secondOpinion shifted)', () => {
    const beside = { main: 'recogniser' as const, hypotheses: [unplaced, hyp('对')], speechMs: 600 };
    expect(decideConsent(beside, ctx, RULES)).toMatchObject({ decision: 'unclear' });
    expect(decideConsent(beside, ctx, { ...RULES, grantFromAlternative: true })).toMatchObject({ decision: 'granted' });
    // The second hearing heard what the engine beside had heard: that opinion is the second hearing's too.
    expect(decideConsent({ ...beside, hypotheses: [...beside.hypotheses, { ...hyp('对'), reheard: true }] }, ctx, RULES)).toMatchObject({ decision: 'granted' });
  });

  it('keeps every safety rule on its yes: a placed first hearing, a refusal or doubt anywhere, a lost start', () => {
    // The first hearing placed a question: no second hearing's yes counts.
    expect(decideConsent({ main: 'recogniser', hypotheses: [hyp('是吗'), { ...hyp('是'), reheard: true }], speechMs: 600 }, ctx, RULES)).toMatchObject({ decision: 'unclear' });
    // A refusal of an engine beside the recogniser wins over the second hearing's yes.
    expect(decideConsent({ main: 'recogniser', hypotheses: [unplaced, hyp('不要'), { ...hyp('好'), reheard: true }], speechMs: 600 }, ctx, RULES)).toMatchObject({ decision: 'refused' });
    // The second hearing's yes with 520 ms of speech before it is not explicit.
    expect(decideConsent({ main: 'recogniser', hypotheses: [unplaced, { ...hyp('好', 520), reheard: true }], speechMs: 900 }, ctx, RULES)).toMatchObject({ decision: 'unclear' });
  });
});
