// `earshot scripts approve <file> [--by <name>]` and `earshot scripts list`. The command line is read and checked
// before the configuration, the database or the prompt library is opened.
import { loadConfig } from '../config.js';
import { groupHelp, helpText, parseCommandLine, subcommand, UsageError, type CommandSpec } from '../ops/commandLine.js';
import { closeSharedDatabases } from '../store/Database.js';
import { createTtsRegistry, PromptCache } from '../speak/index.js';
import { PromptLibrary } from '../speak/PromptLibrary.js';
import { scriptFixedTexts } from './format.js';
import { pinRecordingsInFile } from './pins.js';
import { ScriptStore } from './ScriptStore.js';

export const SCRIPTS_COMMANDS = {
  approve: {
    usage: 'earshot scripts approve',
    summary: 'Pin the recorded prompts of a script file, record it as an approved, immutable version, render its fixed text into the prompt cache.',
    args: [{ name: 'file.yaml', help: 'the script (format: scripts/README.md)', required: true }],
    options: { by: { type: 'string', value: 'NAME', help: 'who approves it (kept with the approval)' } },
  },
  list: {
    usage: 'earshot scripts list',
    summary: 'The approved scripts and their hashes.',
  },
} as const satisfies Record<string, CommandSpec>;

/** Exit codes: 0 done, 1 refused or failed (the message says why), 2 usage. */
export async function scriptsCli(args: string[], out: NodeJS.WritableStream = process.stdout, err: NodeJS.WritableStream = process.stderr): Promise<number> {
  let sub: keyof typeof SCRIPTS_COMMANDS;
  let parsed: { args: string[]; by?: string };
  try {
    const s = subcommand('earshot scripts', SCRIPTS_COMMANDS, args);
    if (!s.name) {
      out.write(groupHelp('earshot scripts', SCRIPTS_COMMANDS));
      return 0;
    }
    sub = s.name;
    const r = parseCommandLine(SCRIPTS_COMMANDS[sub] as CommandSpec, s.rest);
    if (r.help) {
      out.write(helpText(SCRIPTS_COMMANDS[sub]));
      return 0;
    }
    parsed = { args: r.args, by: (r.values as { by?: string }).by };
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    err.write(`earshot scripts: ${e.message}\n${e.spec ? helpText(e.spec) : ''}`);
    return 2;
  }
  try {
    const config = loadConfig();
    const store = ScriptStore.open({ dataDir: config.dataDir });
    if (sub === 'list') {
      const rows = await store.list();
      if (!rows.length) out.write('no approved scripts\n');
      for (const r of rows) out.write(`${r.scriptId}@${r.version}  ${r.language} ${r.callType}  sha256:${r.sha256.slice(0, 16)}  ${r.approvedAt}${r.approvedBy ? `  by ${r.approvedBy}` : ''}  ${r.file}\n`);
      return 0;
    }
    const file = parsed.args[0];
    // The library of recorded prompts the gateway plays from (<dataDir>/prompts): `play` nodes are pinned to it.
    const library = new PromptLibrary({ dataDir: config.dataDir, maxPromptMs: config.limits.maxPromptMs });
    for (const p of pinRecordingsInFile(file, library)) {
      out.write(`${p.added ? 'pinned' : 'pin ok'} ${p.node}: recorded prompt ${p.prompt} sha256:${p.sha256}\n`);
    }
    const r = await store.approve(file, { approvedBy: parsed.by });
    out.write(`${r.created ? 'approved' : 'already approved'} ${r.approval.scriptId}@${r.approval.version} sha256:${r.approval.sha256}\n`);
    const registry = createTtsRegistry(config, { onUnavailable: (id, e) => err.write(`warning: TTS engine ${id} unavailable: ${e.message.split('\n')[0]}\n`) });
    const engine = registry.pick({ engine: r.script.voice, language: r.script.language });
    const cache = new PromptCache({ dataDir: config.dataDir, maxMemoryBytes: config.tts.cacheMemoryMB << 20 });
    let n = 0;
    for (const sampleRate of [8000, 16000] as const) n += await cache.warm(scriptFixedTexts(r.script), engine, { language: r.script.language, sampleRate });
    out.write(`prompt cache: ${n} renders added (${engine.id}, 8 kHz and 16 kHz)\n`);
    return 0;
  } catch (e) {
    err.write(`earshot scripts: ${(e as Error).message}\n`);
    return 1;
  } finally {
    closeSharedDatabases();
  }
}
