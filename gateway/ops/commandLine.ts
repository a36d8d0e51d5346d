// The one argument parser of every `earshot` command (evidence, scripts, models, bench, eval) and of the npm
// scripts that run them: node's own util.parseArgs (strict: an unknown or malformed option is an error, never
// ignored) under a declared command — its arguments, options and help text — so `--help` is written from the same
// declaration that parses, and a command acts only once its whole command line has been read and checked.
import { parseArgs, type ParseArgsConfig } from 'node:util';

export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  multiple?: boolean;
  /** Placeholder of the value in help, e.g. FILE. */
  value?: string;
  /** Allowed values of a string option. */
  choices?: readonly string[];
  help: string;
}

export interface ArgSpec {
  name: string;
  help: string;
  required?: boolean;
  /** Takes every remaining argument. */
  many?: boolean;
}

export interface CommandSpec {
  /** How it is invoked, e.g. `earshot evidence verify`. */
  usage: string;
  summary: string;
  args?: readonly ArgSpec[];
  options?: Readonly<Record<string, OptionSpec>>;
  /** Text after the options in --help. */
  notes?: string;
}

/** A command line that cannot be run: the command prints it with its usage and exits 2. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly spec?: CommandSpec,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

type Values<O extends Readonly<Record<string, OptionSpec>>> = {
  [K in keyof O]?: O[K]['type'] extends 'boolean'
    ? boolean
    : O[K] extends { choices: readonly (infer C)[] }
      ? O[K]['multiple'] extends true
        ? C[]
        : C
      : O[K]['multiple'] extends true
        ? string[]
        : string;
};

export interface Parsed<O extends Readonly<Record<string, OptionSpec>>> {
  values: Values<O>;
  args: string[];
  /** --help / -h was given: print helpText(spec) and exit 0, whatever else is there. */
  help: boolean;
}

/**
 * Parses `argv` against `spec`. Throws UsageError for an unknown option, a missing or extra argument, a bad choice
 * or a missing option value. A `--` ends the options (npm passes one through).
 */
export function parseCommandLine<S extends CommandSpec>(spec: S, argv: readonly string[]): Parsed<NonNullable<S['options']>> {
  const options: NonNullable<ParseArgsConfig['options']> = { help: { type: 'boolean', short: 'h' } };
  for (const [name, o] of Object.entries(spec.options ?? {})) {
    options[name] = { type: o.type, ...(o.short ? { short: o.short } : {}), ...(o.multiple ? { multiple: true } : {}) };
  }
  let parsed: { values: Record<string, unknown>; positionals: string[] };
  try {
    parsed = parseArgs({ args: [...argv], options, strict: true, allowPositionals: true });
  } catch (e) {
    if (!String((e as { code?: unknown }).code).startsWith('ERR_PARSE_ARGS_')) throw e;
    throw new UsageError(plainParseError((e as Error).message), spec);
  }
  const help = parsed.values.help === true;
  if (help) return { values: parsed.values as Values<NonNullable<S['options']>>, args: parsed.positionals, help };
  for (const [name, o] of Object.entries(spec.options ?? {})) {
    const v = parsed.values[name];
    if (!o.choices || v === undefined) continue;
    for (const x of Array.isArray(v) ? v : [v]) {
      if (!o.choices.includes(x as string)) throw new UsageError(`--${name} must be ${o.choices.join(' or ')}, got "${String(x)}"`, spec);
    }
  }
  const declared = spec.args ?? [];
  const need = declared.filter((a) => a.required).length;
  if (parsed.positionals.length < need) throw new UsageError(`missing ${declared[parsed.positionals.length].name}`, spec);
  if (!declared.some((a) => a.many) && parsed.positionals.length > declared.length) {
    throw new UsageError(`unexpected argument "${parsed.positionals[declared.length]}"`, spec);
  }
  return { values: parsed.values as Values<NonNullable<S['options']>>, args: parsed.positionals, help };
}

/** util.parseArgs' messages, without its advice about `--`, which does not fit an operator's command line. */
function plainParseError(m: string): string {
  const option = /'(?:-\w, )?(--?[\w-]+)/.exec(m)?.[1] ?? '';
  if (m.startsWith('Unknown option')) return `unknown option ${option}`;
  if (/argument missing|argument is ambiguous/.test(m)) return `${option} needs a value`;
  if (m.includes('does not take an argument')) return `${option} takes no value`;
  return m.split('\n')[0];
}

/** A whole number option (or argument) within bounds; undefined stays undefined. */
export function intOption(name: string, v: string | undefined, min: number, spec?: CommandSpec): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!/^-?\d+$/.test(v.trim()) || !Number.isSafeInteger(n) || n < min) throw new UsageError(`--${name} must be a whole number ≥ ${min}, got "${v}"`, spec);
  return n;
}

export function helpText(spec: CommandSpec): string {
  const args = (spec.args ?? []).map((a) => {
    const n = `<${a.name}>${a.many ? ' …' : ''}`;
    return a.required ? n : `[${n}]`;
  });
  const lines = [`usage: ${spec.usage}${args.length ? ` ${args.join(' ')}` : ''}${spec.options && Object.keys(spec.options).length ? ' [options]' : ''}`, '', spec.summary];
  const rows: [string, string][] = [
    ...(spec.args ?? []).map((a): [string, string] => [`<${a.name}>`, a.help]),
    ...Object.entries(spec.options ?? {}).map(([name, o]): [string, string] => {
      const value = o.type === 'string' ? ` ${o.value ?? (o.choices ? o.choices.join('|') : 'VALUE')}` : '';
      return [`${o.short ? `-${o.short}, ` : ''}--${name}${value}`, o.help];
    }),
    ['-h, --help', 'this text'],
  ];
  const w = Math.min(28, Math.max(...rows.map(([l]) => l.length)));
  lines.push('');
  for (const [l, h] of rows) lines.push(l.length > w ? `  ${l}\n  ${' '.repeat(w)}  ${h}` : `  ${l.padEnd(w)}  ${h}`);
  if (spec.notes) lines.push('', spec.notes.trim());
  return `${lines.join('\n')}\n`;
}

/** `group <sub> …`: which subcommand, and the rest of the line. Throws UsageError naming the subcommands. */
export function subcommand<K extends string>(usage: string, subs: Readonly<Record<K, CommandSpec>>, argv: readonly string[]): { name: K | null; rest: string[] } {
  const [first, ...rest] = argv;
  if (first === undefined || first === '--help' || first === '-h' || first === 'help') return { name: null, rest };
  if (!Object.hasOwn(subs, first)) throw new UsageError(`${first.startsWith('-') ? 'expected a subcommand before options' : `unknown subcommand "${first}"`}\n${groupHelp(usage, subs)}`);
  return { name: first as K, rest };
}

export function groupHelp(usage: string, subs: Readonly<Record<string, CommandSpec>>): string {
  const w = Math.max(...Object.keys(subs).map((k) => k.length));
  const lines = Object.entries(subs).map(([k, s]) => `  ${k.padEnd(w)}  ${s.summary}`);
  return `usage: ${usage} <subcommand> [options]\n\n${lines.join('\n')}\n\n\`${usage} <subcommand> --help\` for each one's options.\n`;
}
