// Pinning a script's recorded prompts at approval. A node's `play: greet-v2` names a prompt in the library; when the
// script is approved, each such name becomes `play: {prompt: greet-v2, sha256: …}` with the SHA-256 of the recording
// the library holds then, written into the script file itself (only that value changes, byte for byte the rest is
// as written), so the approved text —
// what is hashed, stored and run — carries its pins. A call then plays that recording and no other: if the library
// no longer holds exactly it, the call is refused at start, and checked again before the audio is queued.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import YAML, { isMap, isScalar } from 'yaml';
import { parseScript } from './format.js';

/** What pinning needs of the recorded-prompt library. */
export interface RecordingLookup {
  info(promptId: string): { sha256: string } | undefined;
}

export class PromptPinError extends Error {
  constructor(
    readonly source: string,
    readonly problems: { code: 'unknown_prompt' | 'prompt_changed'; message: string }[],
  ) {
    super(`cannot approve ${source}:\n${problems.map((p) => `  ${p.message}`).join('\n')}`);
    this.name = 'PromptPinError';
  }
}

export interface Pin {
  node: string;
  prompt: string;
  sha256: string;
  /** Written now (false: the file already carried this pin). */
  added: boolean;
}

/**
 * The script text with every `play` pinned to the library's recording. Throws PromptPinError naming every prompt
 * the library does not have, and every pin that no longer matches the library. Unchanged text when nothing was
 * pinned (so an approved, pinned file approves again as the same version).
 */
export function pinRecordings(text: string, library: RecordingLookup, source = '<script>'): { text: string; pins: Pin[] } {
  const script = parseScript(text, source); // refuses a malformed script before anything is looked up
  const doc = YAML.parseDocument(text);
  const nodes = doc.get('nodes');
  const pins: Pin[] = [];
  const edits: { from: number; to: number; text: string }[] = [];
  const problems: PromptPinError['problems'] = [];
  for (const [node, n] of Object.entries(script.nodes)) {
    if (!n.play) continue;
    const have = library.info(n.play.prompt);
    if (!have) {
      problems.push({ code: 'unknown_prompt', message: `nodes.${node}.play: no recorded prompt "${n.play.prompt}" in the library (upload it: PUT /v1/prompts/${n.play.prompt})` });
      continue;
    }
    if (n.play.sha256 !== undefined) {
      if (n.play.sha256 !== have.sha256) {
        problems.push({
          code: 'prompt_changed',
          message: `nodes.${node}.play: "${n.play.prompt}" is pinned to sha256 ${n.play.sha256.slice(0, 12)}… but the library holds ${have.sha256.slice(0, 12)}…`,
        });
      } else pins.push({ node, prompt: n.play.prompt, sha256: have.sha256, added: false });
      continue;
    }
    // parseScript accepted the file, so nodes is a map and this play a name.
    const value = isMap(nodes) && nodes.get(node, true);
    const name = isMap(value) && value.get('play', true);
    if (!isScalar(name) || !name.range) throw new Error(`nodes.${node}.play is not a name`);
    edits.push({ from: name.range[0], to: name.range[1], text: `{ prompt: ${JSON.stringify(n.play.prompt)}, sha256: ${have.sha256} }` });
    pins.push({ node, prompt: n.play.prompt, sha256: have.sha256, added: true });
  }
  if (problems.length) throw new PromptPinError(source, problems);
  if (!edits.length) return { text, pins };
  // Only the names are replaced, from the end so earlier offsets hold: comments and layout stay as written.
  let pinned = text;
  for (const e of edits.sort((a, b) => b.from - a.from)) pinned = pinned.slice(0, e.from) + e.text + pinned.slice(e.to);
  parseScript(pinned, source); // what is written must still be the same valid script
  return { text: pinned, pins };
}

/** Pins the recordings of a script file in place (atomically); returns the pins. */
export function pinRecordingsInFile(file: string, library: RecordingLookup): Pin[] {
  const text = readFileSync(file, 'utf8');
  const r = pinRecordings(text, library, file);
  if (r.text !== text) {
    const tmp = `${file}.pinning`;
    writeFileSync(tmp, r.text);
    renameSync(tmp, file);
  }
  return r.pins;
}

/**
 * The pinned recording a node may play, or why not: unpinned (the script was never approved with it), missing from
 * the library, or a different recording under that id than the one approved.
 */
export function pinnedRecording(
  library: RecordingLookup,
  p: { recording: string; sha256: string | undefined },
): { ok: true } | { ok: false; code: 'script_prompt_unpinned' | 'script_prompt_missing' | 'script_prompt_changed'; message: string } {
  if (!p.sha256) return { ok: false, code: 'script_prompt_unpinned', message: `recorded prompt "${p.recording}" has no approved pin` };
  const have = library.info(p.recording);
  if (!have) return { ok: false, code: 'script_prompt_missing', message: `recorded prompt "${p.recording}" is no longer in the library` };
  if (have.sha256 !== p.sha256) {
    return { ok: false, code: 'script_prompt_changed', message: `recorded prompt "${p.recording}" is not the approved recording (sha256 ${have.sha256.slice(0, 12)}… ≠ approved ${p.sha256.slice(0, 12)}…)` };
  }
  return { ok: true };
}
