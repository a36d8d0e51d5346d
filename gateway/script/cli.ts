// `earshot scripts approve <file> [--by <name>]` and `earshot scripts list`.
import { loadConfig } from '../config.js';
import { closeSharedDatabases } from '../store/Database.js';
import { createTtsRegistry, PromptCache } from '../speak/index.js';
import { parseTtsConfig } from '../speak/config.js';
import { scriptFixedTexts } from './format.js';
import { ScriptStore } from './ScriptStore.js';

const USAGE = `usage: earshot scripts approve <file.yaml> [--by <approver>]   record the file as an approved, immutable version
       earshot scripts list                                     approved scripts and their hashes
`;

export async function scriptsCli(args: string[], out: NodeJS.WritableStream = process.stdout, err: NodeJS.WritableStream = process.stderr): Promise<number> {
  const [sub, ...rest] = args;
  let store: ScriptStore | null = null;
  try {
    const config = loadConfig();
    store = await ScriptStore.forConfig(config);
    if (sub === 'list') {
      const rows = await store.list();
      if (!rows.length) out.write('no approved scripts\n');
      for (const r of rows) out.write(`${r.scriptId}@${r.version}  ${r.language} ${r.callType}  sha256:${r.sha256.slice(0, 16)}  ${r.approvedAt}${r.approvedBy ? `  by ${r.approvedBy}` : ''}  ${r.file}\n`);
      return 0;
    }
    if (sub === 'approve' && rest[0]) {
      const by = rest.indexOf('--by');
      const r = await store.approve(rest[0], { approvedBy: by >= 0 ? rest[by + 1] : undefined });
      out.write(`${r.created ? 'approved' : 'already approved'} ${r.approval.scriptId}@${r.approval.version} sha256:${r.approval.sha256}\n`);
      const registry = createTtsRegistry(config, { onUnavailable: (id, e) => err.write(`warning: TTS engine ${id} unavailable: ${e.message.split('\n')[0]}\n`) });
      const engine = registry.pick({ engine: r.script.voice, language: r.script.language });
      const cache = new PromptCache({ dataDir: config.dataDir, maxMemoryBytes: parseTtsConfig(config.tts).cacheMemoryMB << 20 });
      let n = 0;
      for (const sampleRate of [8000, 16000] as const) n += await cache.warm(scriptFixedTexts(r.script), engine, { language: r.script.language, sampleRate });
      out.write(`prompt cache: ${n} renders added (${engine.id}, 8 kHz and 16 kHz)\n`);
      return 0;
    }
    err.write(USAGE);
    return 2;
  } catch (e) {
    err.write(`earshot scripts: ${(e as Error).message}\n`);
    return 1;
  } finally {
    await store?.close();
    closeSharedDatabases();
  }
}
