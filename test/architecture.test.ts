// The house rules of gateway/'s imports (.dependency-cruiser.cjs): no import circles, the call contract below
// its users, and wires that import neither another wire nor a feature. The rules are first shown to catch each
// kind of break on a small made-up tree, so a rule that silently matches nothing cannot pass.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { cruise, type ICruiseOptions, type IForbiddenRuleType, type IViolation } from 'dependency-cruiser';
import extractTSConfig from 'dependency-cruiser/config-utl/extract-ts-config';
import { afterAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../gateway/models.js';

const rules = createRequire(import.meta.url)('../.dependency-cruiser.cjs') as { forbidden: IForbiddenRuleType[]; options: ICruiseOptions };

async function violations(baseDir: string, minModules: number): Promise<IViolation[]> {
  const tsConfig = join(PROJECT_ROOT, 'tsconfig.json');
  const r = await cruise(
    ['gateway'],
    { ...rules.options, baseDir, validate: true, ruleSet: { forbidden: rules.forbidden }, tsConfig: { fileName: tsConfig } },
    undefined,
    { tsConfig: extractTSConfig(tsConfig) },
  );
  if (typeof r.output === 'string') throw new Error('expected a cruise result, got a report');
  // A path mistake would cruise nothing and find nothing wrong.
  expect(r.output.summary.totalCruised).toBeGreaterThanOrEqual(minModules);
  return r.output.summary.violations;
}

const describeViolation = (v: IViolation) => `${v.rule.name}: ${v.from} → ${v.to}${v.cycle ? ` (${v.cycle.map((c) => c.name).join(' → ')})` : ''}`;

describe('gateway imports', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'earshot-arch-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('the rules catch a circle, a wire importing a wire or a feature, a feature importing a wire, and the contract importing a wire', async () => {
    const files: Record<string, string> = {
      'gateway/a.ts': "import { b } from './b.js';\nexport const a = () => b;\n",
      'gateway/b.ts': "import type { a } from './a.js';\nexport const b = 1;\nexport type A = typeof a;\n",
      'gateway/wires/index.ts': "import { one } from './one.js';\nimport { two } from './two.js';\nexport const wires = [one, two];\n",
      'gateway/wires/config.ts': 'export const cfg = {};\n',
      'gateway/wires/shared/helper.ts': 'export const helper = 1;\n',
      'gateway/wires/one.ts': "import { two } from './two.js';\nimport { helper } from './shared/helper.js';\nimport { cfg } from './config.js';\nexport const one = [two, helper, cfg];\n",
      'gateway/wires/two.ts': "import { f } from '../features/f.js';\nexport const two = f;\n",
      'gateway/features/f.ts': 'export const f = 1;\n',
      'gateway/features/g.ts': "import { one } from '../wires/one.js';\nexport const g = one;\n",
      'gateway/call/c.ts': "import { two } from '../wires/two.js';\nexport const c = two;\n",
    };
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(tmp, path)), { recursive: true });
      writeFileSync(join(tmp, path), text);
    }
    const found = (await violations(tmp, Object.keys(files).length)).map(describeViolation);
    expect(found).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^no-circular: gateway\/[ab]\.ts → gateway\/[ab]\.ts/),
        'wire-imports-wire: gateway/wires/one.ts → gateway/wires/two.ts',
        'wire-imports-feature: gateway/wires/two.ts → gateway/features/f.ts',
        'feature-imports-wire: gateway/features/g.ts → gateway/wires/one.ts',
        'contract-imports-its-users: gateway/call/c.ts → gateway/wires/two.ts',
        'wire-imported-outside-registration: gateway/features/g.ts → gateway/wires/one.ts',
      ]),
    );
    // The registration, a wire's own settings and the shared pieces are allowed.
    expect(found.join('\n')).not.toMatch(/gateway\/wires\/index\.ts →|→ gateway\/wires\/(config|shared\/helper)\.ts/);
  });

  it('gateway/ keeps every rule: no circle, wires and features meet only in the call contract', async () => {
    const found = (await violations(PROJECT_ROOT, 100)).map(describeViolation);
    expect(found).toEqual([]);
  });
});
