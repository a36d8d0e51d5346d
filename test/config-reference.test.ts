// docs/configuration.md is generated from the configuration schemas (npm run docs:config): it must be current, and
// every key must say what it is for.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ENV } from '../gateway/config.js';
import { REFERENCE_FILE, renderConfigReference } from '../tools/config-reference.js';

describe('configuration reference', () => {
  const { text, undocumented } = renderConfigReference();

  it('docs/configuration.md is what the schemas generate (run `npm run docs:config` after changing them)', () => {
    expect(readFileSync(REFERENCE_FILE, 'utf8') === text, 'docs/configuration.md is stale: run `npm run docs:config`').toBe(true);
  });

  it('every key has a description, and every environment variable is listed against its key', () => {
    expect(undocumented).toEqual([]);
    for (const [name, e] of Object.entries(ENV)) expect(text, name).toContain(`| \`${e.path.join('.')}\` |`);
    for (const name of Object.keys(ENV)) expect(text).toContain(`\`${name}\``);
  });
});
