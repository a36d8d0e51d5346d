// `earshot <command> …`: the operator CLI. Every command reads its command line with the one parser
// (ops/commandLine.ts) and acts only once the whole line is checked; a command's code is loaded only when it runs,
// so `earshot --help`, `--version` and a mistyped command touch nothing. Exit codes: 0 done, 2 usage, others as
// each command says in its --help.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from './models.js';
import { groupHelp, subcommand, UsageError, type CommandSpec } from './ops/commandLine.js';

export type CommandHandler = (args: string[]) => Promise<number>;

export interface Command {
  summary: string;
  run: CommandHandler;
}

/** `earshot eval <kind>`: the accuracy evaluations. */
const EVALS: Record<string, CommandSpec & { run: CommandHandler }> = {
  consent: {
    usage: 'earshot eval consent',
    summary: 'consent accuracy of the whole gateway on a labelled corpus, streamed at real time',
    run: async (args) => (await import('../bench/eval-consent.js')).main(args),
  },
};

export const COMMANDS: Record<string, Command> = {
  evidence: {
    summary: 'verify the consent evidence chain, show a record',
    run: async (args) => (await import('./evidence/cli.js')).evidenceCli(args),
  },
  scripts: {
    summary: 'approve a call script file (immutable version, recorded prompts pinned), list approved scripts',
    run: async (args) => (await import('./script/cli.js')).scriptsCli(args),
  },
  models: {
    summary: 'fetch and verify the models (also npm run models)',
    run: async (args) => (await import('../models/fetch.js')).main(args),
  },
  bench: {
    summary: 'capacity and latency under load against the budgets (also npm run bench)',
    run: async (args) => (await import('../bench/run.js')).main(args),
  },
  eval: {
    summary: 'accuracy evaluations: consent (also npm run eval:consent)',
    run: async (args) => {
      const { name, rest } = subcommand('earshot eval', EVALS, args);
      if (!name) {
        process.stdout.write(groupHelp('earshot eval', EVALS));
        return 0;
      }
      return EVALS[name].run(rest);
    },
  },
};

export function version(): string {
  return (JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
}

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((k) => k.length));
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return `usage: earshot <command> [args]   (earshot ${version()})

commands:
${lines.join('\n')}

\`earshot <command> --help\` for a command's arguments and options; \`earshot --version\` for the version.
The gateway itself runs with \`npm start\` (node --import tsx gateway/main.ts); its settings: docs/configuration.md.
`;
}

export async function runCli(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    process.stderr.write(usage());
    return 2;
  }
  if (name === '--help' || name === '-h') {
    process.stdout.write(usage());
    return 0;
  }
  if (name === '--version' || name === '-V') {
    process.stdout.write(`${version()}\n`);
    return 0;
  }
  if (name === 'help') {
    // `earshot help <command>` is `earshot <command> --help`.
    if (rest[0] && Object.hasOwn(COMMANDS, rest[0])) return COMMANDS[rest[0]].run([...rest.slice(1), '--help']);
    process.stdout.write(usage());
    return rest[0] ? 2 : 0;
  }
  const cmd = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!cmd) {
    process.stderr.write(`earshot: ${name.startsWith('-') ? `unknown option ${name}` : `unknown command ${JSON.stringify(name)}`}\n\n${usage()}`);
    return 2;
  }
  try {
    return await cmd.run(rest);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write(`earshot ${name}: ${e.message}\n`);
    return 2;
  }
}
