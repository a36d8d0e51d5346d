// `earshot <command> …` dispatcher. Each command is an async handler taking the arguments after its name and
// returning the process exit code; add commands by adding entries to COMMANDS.
import { evidenceCli } from './evidence/cli.js';
import { scriptsCli } from './script/cli.js';

export type CommandHandler = (args: string[]) => Promise<number>;

export interface Command {
  summary: string;
  run: CommandHandler;
}

export const COMMANDS: Record<string, Command> = {
  evidence: { summary: 'verify the consent evidence chain, show a record', run: (args) => evidenceCli(args) },
  scripts: { summary: 'approve a call script file (immutable version), list approved scripts', run: (args) => scriptsCli(args) },
};

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((k) => k.length));
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return `usage: earshot <command> [args]\ncommands:\n${lines.join('\n')}\n`;
}

export async function runCli(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage());
    return name ? 0 : 2;
  }
  const cmd = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!cmd) {
    process.stderr.write(`earshot: unknown command ${JSON.stringify(name)}\n${usage()}`);
    return 2;
  }
  return cmd.run(rest);
}
