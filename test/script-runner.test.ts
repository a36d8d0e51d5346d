// Script format validation and the runner state machine (pure, no gateway).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseScript, parseScriptRef, ScriptFormatError, scriptFixedTexts, ScriptRunner, type RunnerAction, type Script } from '../gateway/script/index.js';

const example = readFileSync(new URL('../scripts/marketing-zh.yaml', import.meta.url), 'utf8');

function script(): Script {
  return parseScript(example, 'marketing-zh.yaml');
}

const says = (acts: RunnerAction[]) => acts.filter((a) => a.type === 'say').map((a) => (a as { node: string }).node);
const promptOf = (acts: RunnerAction[]) => (acts.find((a) => a.type === 'say') as { promptId: string }).promptId;

describe('script format', () => {
  it('parses the example script', () => {
    const s = script();
    expect(s.id).toBe('marketing-zh');
    expect(s.version).toBe('1');
    expect(s.nodes.pitch.requiresConsent).toBe(true);
    expect(scriptFixedTexts(s)).toContain('，我是星河银行的客服助理。');
    expect(scriptFixedTexts(s).some((t) => t.includes('{'))).toBe(false);
  });

  it('rejects unknown references, undeclared slots and unsafe branches, listing every problem', () => {
    const bad = example
      .replace('refused: goodbye\n      unclear: reprompt\n      timeout: reprompt\n      dtmf', 'refused: pitch\n      unclear: nowhere\n      timeout: reprompt\n      dtmf')
      .replace('slots: [name, amount]', 'slots: [name]');
    try {
      parseScript(bad, 'bad.yaml');
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ScriptFormatError);
      const msg = (e as Error).message;
      expect(msg).toMatch(/on\.refused: leads to "pitch", which requires consent/);
      expect(msg).toMatch(/on\.unclear: unknown node "nowhere"/);
      expect(msg).toMatch(/slot \{amount\} is not declared/);
    }
  });

  it('rejects a loop that can never hang up, unknown keys and bad YAML', () => {
    const loop = `id: x\nversion: 1\nlanguage: zh\ncallType: notification\nnodes:\n  greet:\n    say: 你好\n    next: again\n  again:\n    say: 再说一遍\n    next: greet\n  goodbye:\n    say: 再见\n    next: hangup\n`;
    expect(() => parseScript(loop)).toThrow(/can never reach "hangup"/);
    expect(() => parseScript(example.replace('requiresConsent: true', 'requiresConsnet: true'))).toThrow(/requiresConsnet/);
    expect(() => parseScript('id: [')).toThrow(/YAML/);
  });

  it('parses script references', () => {
    expect(parseScriptRef('marketing-zh@1')).toEqual({ id: 'marketing-zh', version: '1' });
    expect(parseScriptRef('marketing-zh')).toBeNull();
  });
});

describe('ScriptRunner', () => {
  it('greets, asks, plays the pitch only after granted, then goodbye and hangup', () => {
    const r = new ScriptRunner(script());
    let a = r.start();
    expect(says(a)).toEqual(['greet']);
    a = r.on({ type: 'prompt_finished', promptId: promptOf(a), interrupted: false });
    expect(says(a)).toEqual(['ask_consent']);
    const ask = promptOf(a);
    a = r.on({ type: 'prompt_finished', promptId: ask, interrupted: false });
    expect(a).toEqual([{ type: 'listen', node: 'ask_consent', promptId: ask, windowMs: 6000 }]);
    a = r.on({ type: 'consent', decision: 'granted', transcript: '可以' });
    expect(says(a)).toEqual(['pitch']);
    expect(r.consentGranted).toBe(true);
    a = r.on({ type: 'prompt_finished', promptId: promptOf(a), interrupted: false });
    expect(says(a)).toEqual(['goodbye']);
    a = r.on({ type: 'prompt_finished', promptId: promptOf(a), interrupted: false });
    expect(a).toEqual([{ type: 'hangup', reason: 'script_end' }]);
    expect(r.done).toBe(true);
  });

  function toQuestion(r: ScriptRunner): string {
    const a = r.start();
    const b = r.on({ type: 'prompt_finished', promptId: promptOf(a), interrupted: false });
    r.on({ type: 'prompt_finished', promptId: promptOf(b), interrupted: false });
    return promptOf(b);
  }

  it('refused → goodbye without the pitch; a complaint asks for a DNC entry', () => {
    const r = new ScriptRunner(script());
    toQuestion(r);
    let a = r.on({ type: 'consent', decision: 'refused', transcript: '不需要' });
    expect(says(a)).toEqual(['goodbye']);
    const r2 = new ScriptRunner(script());
    toQuestion(r2);
    a = r2.on({ type: 'consent', decision: 'refused', complaint: true, phrase: '别打了', transcript: '别打了' });
    expect(a[0]).toEqual({ type: 'dnc', reason: 'complaint: 别打了' });
    expect(says(a)).toEqual(['goodbye']);
    expect(r2.trace.map((t) => t.node)).not.toContain('pitch');
  });

  it('silence → re-prompt → goodbye when the rounds are spent', () => {
    const r = new ScriptRunner(script());
    toQuestion(r);
    let a = r.on({ type: 'timeout' });
    expect(says(a)).toEqual(['reprompt']);
    a = r.on({ type: 'prompt_finished', promptId: promptOf(a), interrupted: false });
    expect(a[0].type).toBe('listen');
    a = r.on({ type: 'consent', decision: 'unclear', transcript: '' }); // the recogniser's own "no answer"
    expect(says(a)).toEqual(['goodbye']);
    expect(r.trace.at(-1)).toEqual({ node: 'goodbye', why: 'rounds exhausted' });
  });

  it('barge-in on the greeting goes to its barge_in branch; on the question it starts listening', () => {
    const r = new ScriptRunner(script());
    let a = r.start();
    a = r.on({ type: 'barge_in', promptId: promptOf(a) });
    expect(says(a)).toEqual(['pardon']);
    a = r.on({ type: 'prompt_finished', promptId: 'greet.1', interrupted: true }); // the cut greeting: ignored
    expect(a).toEqual([]);
    const r2 = new ScriptRunner(script());
    const ask = toQuestion(r2);
    void ask;
    const r3 = new ScriptRunner(script());
    const s = r3.start();
    const q = r3.on({ type: 'prompt_finished', promptId: promptOf(s), interrupted: false });
    a = r3.on({ type: 'barge_in', promptId: promptOf(q) });
    expect(a[0].type).toBe('listen');
  });

  it('never plays a requiresConsent node without granted: a keypad jump there is redirected', () => {
    const s = script();
    s.nodes.ask_consent.on.dtmf = { '1': 'pitch', '2': 'goodbye' };
    const r = new ScriptRunner(s);
    const a0 = r.start();
    const q = r.on({ type: 'prompt_finished', promptId: promptOf(a0), interrupted: false });
    const a = r.on({ type: 'dtmf', digit: '1' });
    expect(a[0]).toEqual({ type: 'stop_prompt' });
    expect(says(a)).toEqual(['goodbye']);
    expect(r.trace.some((t) => t.node === 'pitch' && /blocked/.test(t.why))).toBe(true);
    void q;
  });

  it('a granted decision outside a listen window does not count', () => {
    const r = new ScriptRunner(script());
    r.start();
    const a = r.on({ type: 'consent', decision: 'granted', transcript: '可以' });
    expect(a).toEqual([]);
    expect(r.consentGranted).toBe(false);
  });
});
