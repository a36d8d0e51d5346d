// vitest.config.ts runs the real-time files in one shared process, where a `vi.mock` could miss a module an earlier
// file already imported and its test could no longer fail: every file that mocks a module must be in OWN_PROCESS.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { OWN_PROCESS } from '../vitest.config.js';

const DIR = import.meta.dirname;

describe('test groups', () => {
  it('gives every file that replaces a module with vi.mock a process of its own', () => {
    const mocking = readdirSync(DIR)
      .filter((f) => f.endsWith('.test.ts') && f !== 'unit-test-groups.test.ts')
      .filter((f) => /\bvi\.(do)?[mM]ock\(/.test(readFileSync(join(DIR, f), 'utf8')))
      .map((f) => `test/${f}`);
    expect(mocking.length).toBeGreaterThan(0);
    for (const f of mocking) expect(OWN_PROCESS, f).toContain(f);
  });
});
