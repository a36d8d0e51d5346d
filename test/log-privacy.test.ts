// Issue #13 item 9: what a callee said (transcripts, matched phrases, free text) is personal data. It belongs in the
// evidence store, never in an info, warn or error log line (shipped, kept and read far more widely than the store).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../gateway/models.js';

const SPOKEN = /\b(transcript|phrase|text|heard)\b\s*(:|,|\})/;
const LOGGED = /\blog\.(info|warn|error|fatal)\(/g;

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** The first argument of each log call at info or above: the object literal before the message, if any. */
function loggedFields(src: string): string[] {
  const out: string[] = [];
  for (const m of src.matchAll(LOGGED)) {
    const rest = src.slice(m.index + m[0].length);
    if (!rest.startsWith('{')) continue;
    let depth = 0;
    for (let i = 0; i < rest.length; i++) {
      if (rest[i] === '{') depth++;
      else if (rest[i] === '}' && --depth === 0) {
        out.push(rest.slice(0, i + 1));
        break;
      }
    }
  }
  return out;
}

describe('log privacy', () => {
  it('the check sees a transcript in a log line (it can fail)', () => {
    const fields = loggedFields("call.log.info({ decision: d.decision, transcript: d.transcript, evidenceId }, 'consent decided');");
    expect(fields.some((f) => SPOKEN.test(f))).toBe(true);
    expect(loggedFields("log.debug({ transcript }, 'x'); log.info({ decision }, 'y')").some((f) => SPOKEN.test(f))).toBe(false);
  });

  it('no info, warn or error line in gateway/ logs what a callee said', () => {
    const offending = sources(join(PROJECT_ROOT, 'gateway')).flatMap((file) =>
      loggedFields(readFileSync(file, 'utf8'))
        .filter((f) => SPOKEN.test(f))
        .map((f) => `${file.slice(PROJECT_ROOT.length + 1)}: ${f}`),
    );
    expect(offending).toEqual([]);
  });
});
