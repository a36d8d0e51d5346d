// Recorded prompts in approved scripts (pure, no gateway): a `play` node names a library prompt, approval pins the
// recording's SHA-256 into the script text, and the pin decides what may play.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseScript, ScriptFormatError, ScriptRunner } from '../gateway/script/index.js';
import { pinnedRecording, pinRecordings, pinRecordingsInFile, PromptPinError } from '../gateway/script/pins.js';

const SHA_A = 'a'.repeat(64);
const SHA_B = 'b'.repeat(64);
const library = (entries: Record<string, string>) => ({ info: (id: string) => (entries[id] ? { sha256: entries[id] } : undefined) });

const SCRIPT = `# a studio greeting, then a synthesised line with the callee's name
id: rec-test
version: 1
language: zh
callType: marketing
slots: [name]
exhausted: name
noConsent: name
nodes:
  greet:
    play: studio-greet   # recorded in the studio
    next: name
  name:
    say: "{name}，再见。"
    next: hangup
`;

describe('pinning recorded prompts at approval', () => {
  it('writes each recording’s SHA-256 into the play node and keeps the rest of the file as it was', () => {
    const r = pinRecordings(SCRIPT, library({ 'studio-greet': SHA_A }));
    expect(r.pins).toEqual([{ node: 'greet', prompt: 'studio-greet', sha256: SHA_A, added: true }]);
    expect(r.text).toContain(`play: { prompt: "studio-greet", sha256: ${SHA_A} }   # recorded in the studio`);
    expect(r.text).toContain('# a studio greeting');
    expect(r.text).toContain('# recorded in the studio');
    expect(r.text.replace(/play: \{.*?\}/, 'play: studio-greet')).toBe(SCRIPT);
    expect(parseScript(r.text).nodes.greet.play).toEqual({ prompt: 'studio-greet', sha256: SHA_A });
  });

  it('leaves a pinned file byte for byte alone while the library still holds the pinned recording', () => {
    const once = pinRecordings(SCRIPT, library({ 'studio-greet': SHA_A })).text;
    const again = pinRecordings(once, library({ 'studio-greet': SHA_A }));
    expect(again.text).toBe(once);
    expect(again.pins).toEqual([{ node: 'greet', prompt: 'studio-greet', sha256: SHA_A, added: false }]);
  });

  it('refuses a prompt the library does not hold and a pin the library no longer matches, naming each', () => {
    const two = SCRIPT.replace('say: "{name}，再见。"', 'play: studio-bye');
    try {
      pinRecordings(two, library({}), 'two.yaml');
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(PromptPinError);
      expect((e as PromptPinError).problems.map((p) => p.code)).toEqual(['unknown_prompt', 'unknown_prompt']);
      expect((e as Error).message).toMatch(/nodes\.greet\.play: no recorded prompt "studio-greet"/);
      expect((e as Error).message).toMatch(/nodes\.name\.play: no recorded prompt "studio-bye"/);
    }
    const pinned = pinRecordings(SCRIPT, library({ 'studio-greet': SHA_A })).text;
    expect(() => pinRecordings(pinned, library({ 'studio-greet': SHA_B }))).toThrow(/pinned to sha256 aaaaaaaaaaaa… but the library holds bbbbbbbbbbbb…/);
  });

  it('pins a file in place, and leaves it untouched when approval is refused', () => {
    const dir = mkdtempSync(join(tmpdir(), 'earshot-pins-'));
    const file = join(dir, 's.yaml');
    writeFileSync(file, SCRIPT);
    expect(() => pinRecordingsInFile(file, library({}))).toThrow(PromptPinError);
    expect(readFileSync(file, 'utf8')).toBe(SCRIPT);
    expect(pinRecordingsInFile(file, library({ 'studio-greet': SHA_A }))[0].added).toBe(true);
    expect(readFileSync(file, 'utf8')).toContain(SHA_A);
  });

  it('refuses a node that both says and plays, and a malformed pin', () => {
    expect(() => parseScript(SCRIPT.replace('play: studio-greet', 'play: studio-greet\n    say: "你好"'))).toThrow(/"say" and "play" both given/);
    expect(() => parseScript(SCRIPT.replace('play: studio-greet', 'play: { prompt: studio-greet, sha256: nothex }'))).toThrow(ScriptFormatError);
  });
});

describe('what a play node may play', () => {
  it('the runner asks for the pinned recording and moves on when it finishes', () => {
    const s = parseScript(pinRecordings(SCRIPT, library({ 'studio-greet': SHA_A })).text);
    const r = new ScriptRunner(s);
    const [play] = r.start();
    expect(play).toEqual({ type: 'play', node: 'greet', promptId: 'greet.1', recording: 'studio-greet', sha256: SHA_A, interruptible: true, requiresConsent: false });
    const next = r.on({ type: 'prompt_finished', promptId: 'greet.1', interrupted: false });
    expect(next).toMatchObject([{ type: 'say', node: 'name', template: '{name}，再见。' }]);
  });

  it('only the approved recording: an unpinned node, a missing prompt and a replaced recording are refused', () => {
    const lib = library({ 'studio-greet': SHA_A });
    expect(pinnedRecording(lib, { recording: 'studio-greet', sha256: SHA_A })).toEqual({ ok: true });
    expect(pinnedRecording(lib, { recording: 'studio-greet', sha256: undefined })).toMatchObject({ ok: false, code: 'script_prompt_unpinned' });
    expect(pinnedRecording(lib, { recording: 'gone', sha256: SHA_A })).toMatchObject({ ok: false, code: 'script_prompt_missing' });
    expect(pinnedRecording(library({ 'studio-greet': SHA_B }), { recording: 'studio-greet', sha256: SHA_A })).toMatchObject({ ok: false, code: 'script_prompt_changed' });
  });
});
