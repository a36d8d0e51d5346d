// Writes docs/configuration.md from the configuration's zod schemas (gateway/config.ts, which composes every
// section) and its environment table: `npm run docs:config`. test/config-reference.test.ts fails when the file is
// stale or a key has no description.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import { ConfigSchema, ENV } from '../gateway/config.js';
import { PROJECT_ROOT } from '../gateway/models.js';

export const REFERENCE_FILE = join(PROJECT_ROOT, 'docs/configuration.md');

interface JsonSchema {
  type?: string | string[];
  /** How a computed default is described (`.meta({ defaultText })`), e.g. "64 per core". */
  defaultText?: string;
  description?: string;
  default?: unknown;
  enum?: unknown[];
  const?: unknown;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  properties?: Record<string, JsonSchema>;
  additionalProperties?: JsonSchema | boolean;
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  minItems?: number;
}

interface Row {
  key: string;
  type: string;
  default: string;
  env: string;
  description: string;
}

const code = (v: unknown) => `\`${typeof v === 'string' ? v : JSON.stringify(v)}\``;
const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

function range(s: JsonSchema): string {
  // zod's int() bounds an integer to the safe range: no bound worth printing.
  const bound = (v: number | undefined) => (v === undefined || Math.abs(v) >= Number.MAX_SAFE_INTEGER ? undefined : v);
  const lo = bound(s.minimum) ?? (s.exclusiveMinimum !== undefined ? `>${s.exclusiveMinimum}` : undefined);
  const hi = bound(s.maximum);
  const exclusive = typeof lo === 'string';
  if (lo === undefined && hi === undefined) return '';
  if (hi === undefined) return exclusive ? ` ${lo}` : ` ≥ ${lo}`;
  if (lo === undefined) return ` ≤ ${hi}`;
  return exclusive ? ` ${lo}, ≤ ${hi}` : ` ${lo}–${hi}`;
}

function typeOf(s: JsonSchema): string {
  if (s.const !== undefined) return code(s.const);
  if (s.enum) return s.enum.map(code).join(' | ');
  const alts = s.anyOf ?? s.oneOf;
  if (alts) return alts.map(typeOf).join(' or ');
  const t = Array.isArray(s.type) ? s.type.join(' or ') : s.type;
  if (t === 'array') return `list of ${s.items ? itemType(s.items) : 'values'}`;
  if (t === 'object' && s.properties) return 'object';
  if (t === 'object' && typeof s.additionalProperties === 'object') return `map to ${typeOf(s.additionalProperties)}`;
  if (t === 'integer' || t === 'number') return `${t}${range(s)}`;
  return t ?? 'any';
}

/** The default as written, or how a computed one is worked out (the same on every machine). */
function defaultOf(s: JsonSchema): string {
  if (s.defaultText) return s.defaultText;
  return s.default === undefined ? '' : code(s.default);
}

/** A list's items; a tagged union of objects (tts.engines) by its tag. */
function itemType(s: JsonSchema): string {
  const alts = s.oneOf ?? s.anyOf;
  const tags = alts?.map((a) => Object.entries(a.properties ?? {}).find(([, f]) => f.const !== undefined));
  if (alts && tags?.every((t) => t && t[0] === tags[0]![0])) return `objects by \`${tags[0]![0]}\`: ${tags.map((t) => code(t![1].const)).join(' | ')}`;
  return s.properties ? 'objects' : typeOf(s);
}

/** One row per key, nested objects as dotted paths; list items' fields as `key[].field`. */
function rows(s: JsonSchema, path: string[], out: Row[], missing: string[], envOf: Map<string, string>): void {
  for (const [k, p] of Object.entries(s.properties ?? {})) {
    const here = [...path, k];
    const key = here.join('.');
    if (!p.description) missing.push(key);
    out.push({ key, type: typeOf(p), default: defaultOf(p), env: envOf.get(key) ?? '', description: p.description ?? '' });
    if (p.properties) rows(p, here, out, missing, envOf);
    const items = p.items;
    const variants = items?.oneOf ?? items?.anyOf ?? (items?.properties ? [items] : []);
    for (const v of variants) {
      const tag = Object.entries(v.properties ?? {}).find(([, f]) => f.const !== undefined);
      rows(v, [...path, `${k}[]${tag && variants.length > 1 ? ` (${tag[0]}: ${String(tag[1].const)})` : ''}`], out, missing, envOf);
    }
  }
}

/** Defaults a transform hides from the input schema (policy.defaultCountry), taken from the output schema. */
function fillDefaults(input: JsonSchema, output: JsonSchema | undefined): void {
  if (!output) return;
  if (input.default === undefined && output.default !== undefined) input.default = output.default;
  for (const [k, p] of Object.entries(input.properties ?? {})) fillDefaults(p, output.properties?.[k]);
}

export function renderConfigReference(): { text: string; undocumented: string[] } {
  const schema = z.toJSONSchema(ConfigSchema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  fillDefaults(schema, z.toJSONSchema(ConfigSchema, { io: 'output', unrepresentable: 'any' }) as JsonSchema);
  const envOf = new Map(Object.entries(ENV).map(([name, e]) => [e.path.join('.'), name]));
  const missing: string[] = [];
  const top: Row[] = [];
  const sections: string[] = [];
  for (const [k, p] of Object.entries(schema.properties ?? {})) {
    if (!p.description) missing.push(k);
    if (!p.properties) {
      top.push({ key: k, type: typeOf(p), default: defaultOf(p), env: envOf.get(k) ?? '', description: p.description ?? '' });
      continue;
    }
    const r: Row[] = [];
    rows(p, [k], r, missing, envOf);
    sections.push(`## \`${k}\`\n\n${p.description ?? ''}\n\n${table(r)}`);
  }
  const head = `# Configuration reference

Generated from the configuration's schemas (\`gateway/config.ts\` and the sections it composes) by
\`npm run docs:config\`; do not edit by hand. One validated configuration: defaults ← the YAML or JSON file named by
\`EARSHOT_CONFIG\` ← environment variables (they win over the file). Every section is checked when the
configuration loads, and unknown keys are refused: a bad value stops the start naming its key.

Three variables stand outside the schema: \`EARSHOT_CONFIG\` (the file), \`EARSHOT_LOG_LEVEL\` (pino level, default
\`info\`; \`trace\` adds a line per VAD frame) and \`EARSHOT_EVIDENCE_KEY\` (the evidence MAC key, hex; wins over
\`evidence.keyFile\`, see \`gateway/evidence/README.md\`).

A key \`a.b\` is written in the file as

\`\`\`yaml
a:
  b: value
\`\`\`

`;
  return { text: `${head}## Top level\n\n${table(top)}\n${sections.join('\n')}`, undocumented: missing };
}

function table(r: Row[]): string {
  const lines = r.map((x) => `| \`${x.key}\` | ${cell(x.type)} | ${cell(x.default)} | ${x.env ? `\`${x.env}\`` : ''} | ${cell(x.description)} |`);
  return `| key | type | default | environment | meaning |\n|---|---|---|---|---|\n${lines.join('\n')}\n`;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { text, undocumented } = renderConfigReference();
  writeFileSync(REFERENCE_FILE, text);
  process.stdout.write(`wrote ${REFERENCE_FILE}\n`);
  if (undocumented.length) process.stderr.write(`keys without a description: ${undocumented.join(', ')}\n`);
}
