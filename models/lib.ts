// Helpers for `npm run models` (models/fetch.ts): manifest loading, locating a model on disk, checksums
// (manifest sha256 or a trust-on-first-use record), downloading with a progress bar, archive extraction.
// Nothing here runs at gateway start-up; the gateway only looks (gateway/models.ts).
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import cliProgress from 'cli-progress';
import { findModelFiles, PROJECT_ROOT, searchRoots, type ModelEntry } from '../gateway/models.js';

export type { ModelEntry };

export const DEFAULT_MANIFEST = join(PROJECT_ROOT, 'models', 'manifest.json');
export const DEFAULT_CACHE = join(PROJECT_ROOT, 'models', 'cache');

export function loadManifest(file = DEFAULT_MANIFEST): ModelEntry[] {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new UsageError(`cannot read manifest ${file}: ${(e as Error).message}`);
  }
  const models = (raw as { models?: unknown }).models;
  if (!Array.isArray(models)) throw new UsageError(`manifest ${file} has no "models" array`);
  for (const m of models as ModelEntry[]) {
    if (!m.id || typeof m.files !== 'object' || typeof m.url !== 'string') {
      throw new UsageError(`manifest ${file}: entry ${JSON.stringify(m.id ?? m)} needs id, files and url`);
    }
    m.sha256 ??= {};
    m.dir ??= '';
  }
  return models as ModelEntry[];
}

/** Bad command line or manifest: exit code 2. */
export class UsageError extends Error {}

/** A download that could not happen (network, HTTP status, timeout): the caller falls back to local copies. */
export class DownloadError extends Error {
  constructor(
    message: string,
    readonly offline: boolean,
  ) {
    super(message);
  }
}

/** A downloaded file or archive whose content did not match the manifest: never kept. */
export class ChecksumError extends Error {}

// ---------------------------------------------------------------------------------------------------------------
// Locating

export interface Location {
  /** Folder holding the model's files. */
  dir: string;
  /** Search root it was found under, or `npm:<package>`. */
  source: string;
  /** File name (as in `sha256`) → expected hash, for this location (npm fallbacks may ship another build). */
  expected: Record<string, string>;
  /** Role → absolute path. */
  files: Record<string, string>;
}

/** Search roots in the gateway's order (gateway/models.ts searchRoots), the target folder first. */
export function rootsFor(entry: ModelEntry, targetDir: string): string[] {
  const roots = [targetDir, ...searchRoots(undefined), ...(entry.searchAlso ?? []).map((p) => resolve(PROJECT_ROOT, p))];
  return [...new Set(roots.map((r) => (isAbsolute(r) ? r : resolve(r))))];
}

/** Same rules as gateway/models.ts resolveModel, but for any manifest entry (so `--manifest` works too). */
export function locate(entry: ModelEntry, roots: string[]): Location | null {
  const found = findModelFiles(entry, roots);
  if (!found) return null;
  if (!found.npm) return { dir: found.dir, source: found.source, expected: { ...entry.sha256 }, files: found.files };
  // The package's file name may differ from the manifest's: check the package file under its own name.
  const [role, name] = Object.entries(entry.files)[0];
  const p = found.files[role];
  const want = found.npm.sha256 ?? entry.sha256[name];
  return { dir: found.dir, source: found.source, expected: want ? { [relative(dirname(p), p)]: want } : {}, files: found.files };
}

// ---------------------------------------------------------------------------------------------------------------
// Checksums

export function sha256File(path: string): Promise<string> {
  return new Promise((res, rej) => {
    const h = createHash('sha256');
    createReadStream(path)
      .on('data', (c) => h.update(c))
      .on('error', rej)
      .on('end', () => res(h.digest('hex')));
  });
}

function walk(dir: string): string[] {
  const out: string[] = [];
  for (const d of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, d.name);
    if (d.isDirectory()) out.push(...walk(p));
    else if (d.isFile()) out.push(p);
  }
  return out;
}

/** A file's sha256, or for a folder a tree hash: sha256 of the sorted `<sha256>  <relative path>\n` lines. */
export async function sha256Path(path: string): Promise<string> {
  if (!statSync(path).isDirectory()) return sha256File(path);
  const files = walk(path)
    .map((p) => relative(path, p).split('\\').join('/'))
    .sort();
  const h = createHash('sha256');
  for (const f of files) h.update(`${await sha256File(join(path, f))}  ${f}\n`);
  return `tree:${h.digest('hex')}`;
}

export interface TofuRecord {
  id: string;
  url: string;
  recordedAt: string;
  note: string;
  sha256: Record<string, string>;
}

export function tofuPath(targetDir: string, id: string): string {
  return join(targetDir, `${id}.sha256.json`);
}

export function readTofu(targetDir: string, id: string): TofuRecord | null {
  const p = tofuPath(targetDir, id);
  if (!existsSync(p)) return null;
  try {
    return JSON.parse(readFileSync(p, 'utf8')) as TofuRecord;
  } catch {
    return null;
  }
}

export async function writeTofu(targetDir: string, entry: ModelEntry, hashes: Record<string, string>): Promise<string> {
  await mkdir(targetDir, { recursive: true });
  const rec: TofuRecord = {
    id: entry.id,
    url: entry.url,
    recordedAt: new Date().toISOString(),
    note: 'trust-on-first-use: models/manifest.json has no sha256 for this model; these hashes were computed from the first copy seen and are checked on every later run',
    sha256: hashes,
  };
  const p = tofuPath(targetDir, entry.id);
  const tmp = `${p}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(tmp, JSON.stringify(rec, null, 2) + '\n');
  await rename(tmp, p);
  return p;
}

export type VerifyStatus = 'ok' | 'mismatch' | 'unverified';

export interface VerifyResult {
  status: VerifyStatus;
  /** Where the expected hashes came from. */
  basis: 'manifest' | 'npm' | 'tofu' | 'none';
  mismatches: { file: string; expected: string; actual: string }[];
  /** Computed hashes of the model's files (file name → hash), for a trust-on-first-use record. */
  actual: Record<string, string>;
}

/** The names whose hashes make up a model: the manifest's sha256 keys, or else every listed file/folder. */
function hashedNames(entry: ModelEntry): string[] {
  const keys = Object.keys(entry.sha256);
  return keys.length ? keys : [...new Set(Object.values(entry.files))];
}

/**
 * Checks a model folder against the expected hashes: manifest (or the npm fallback's own), else the TOFU record in
 * `targetDir`, else nothing to check against ('unverified', with the computed hashes returned).
 */
export async function verify(entry: ModelEntry, loc: Location, targetDir: string): Promise<VerifyResult> {
  let expected = loc.expected;
  let basis: VerifyResult['basis'] = loc.source.startsWith('npm:') ? 'npm' : 'manifest';
  if (Object.keys(expected).length === 0) {
    const tofu = readTofu(targetDir, entry.id);
    if (tofu && Object.keys(tofu.sha256).length) {
      expected = tofu.sha256;
      basis = 'tofu';
    } else basis = 'none';
  }
  const names = basis === 'none' ? hashedNames(entry) : Object.keys(expected);
  const actual: Record<string, string> = {};
  const mismatches: VerifyResult['mismatches'] = [];
  for (const name of names) {
    const p = join(loc.dir, name);
    const got = existsSync(p) ? await sha256Path(p) : 'missing';
    actual[name] = got;
    const want = expected[name];
    if (want !== undefined && got !== want.toLowerCase()) mismatches.push({ file: name, expected: want, actual: got });
  }
  const status: VerifyStatus = basis === 'none' ? 'unverified' : mismatches.length ? 'mismatch' : 'ok';
  return { status, basis, mismatches, actual };
}

// ---------------------------------------------------------------------------------------------------------------
// Downloading

export interface DownloadOptions {
  /** Give up when connecting or when no byte arrives for this long. */
  timeoutMs: number;
  /** Show a progress bar (cli-progress) on this stream. */
  progress?: NodeJS.WritableStream & { isTTY?: boolean };
  label?: string;
}

const OFFLINE_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'ECONNRESET',
  'ETIMEDOUT',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_SOCKET',
  'CERT_HAS_EXPIRED',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
]);

function errorCode(e: unknown): string | undefined {
  let cur: unknown = e;
  for (let i = 0; i < 5 && cur; i++) {
    const c = (cur as { code?: unknown }).code;
    if (typeof c === 'string') return c;
    cur = (cur as { cause?: unknown }).cause;
  }
  return undefined;
}

function describeError(e: unknown): string {
  const parts: string[] = [];
  let cur: unknown = e;
  for (let i = 0; i < 5 && cur; i++) {
    const c = cur as { code?: unknown; message?: unknown };
    const s = typeof c.code === 'string' ? c.code : typeof c.message === 'string' ? c.message : String(cur);
    if (s && !parts.includes(s)) parts.push(s);
    cur = (cur as { cause?: unknown }).cause;
  }
  return parts.join(': ');
}

/**
 * GET with the node:http(s) modules (not fetch: undici refuses "bad ports" such as 1 or 6000 outright, and a
 * mirror may live on any port). Follows up to `redirects` redirects (GitHub release assets redirect to their
 * storage host); resolves with a 2xx response, throws DownloadError on any other status.
 */
function httpGet(url: string, signal: AbortSignal, redirects: number): Promise<IncomingMessage> {
  return new Promise((res, rej) => {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      rej(new DownloadError(`bad url ${JSON.stringify(url)}`, false));
      return;
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') {
      rej(new DownloadError(`${url}: only http and https urls are supported`, false));
      return;
    }
    const req = (u.protocol === 'https:' ? httpsRequest : httpRequest)(
      u,
      { method: 'GET', signal, headers: { 'user-agent': 'earshot-models', accept: '*/*' } },
      (r) => {
        const status = r.statusCode ?? 0;
        if (status >= 300 && status < 400 && r.headers.location) {
          r.resume();
          if (redirects <= 0) {
            rej(new DownloadError(`${url}: too many redirects`, false));
            return;
          }
          httpGet(new URL(r.headers.location, u).toString(), signal, redirects - 1).then(res, rej);
          return;
        }
        if (status < 200 || status >= 300) {
          r.resume();
          rej(new DownloadError(`${url}: HTTP ${status} ${r.statusMessage ?? ''}`.trim(), false));
          return;
        }
        res(r);
      },
    );
    req.on('error', rej);
    req.end();
  });
}

/**
 * Downloads `url` to `dest` (a temp name + rename, so `dest` is either complete or absent). Follows redirects. Returns the sha256 of what was written. Throws DownloadError on network/HTTP/timeout failures.
 */
export async function download(url: string, dest: string, opts: DownloadOptions): Promise<{ sha256: string; bytes: number }> {
  await mkdir(dirname(dest), { recursive: true });
  const tmp = `${dest}.${randomBytes(4).toString('hex')}.part`;
  const ac = new AbortController();
  let timedOut = false;
  let timer = setTimeout(() => ((timedOut = true), ac.abort()), opts.timeoutMs);
  const kick = () => {
    clearTimeout(timer);
    timer = setTimeout(() => ((timedOut = true), ac.abort()), opts.timeoutMs);
  };
  let bar: cliProgress.SingleBar | null = null;
  try {
    let res: IncomingMessage;
    try {
      res = await httpGet(url, ac.signal, 10);
    } catch (e) {
      if (e instanceof DownloadError) throw e;
      const code = timedOut ? 'timeout' : describeError(e);
      throw new DownloadError(`cannot reach ${url}: ${code}`, timedOut || OFFLINE_CODES.has(errorCode(e) ?? ''));
    }
    kick();
    const total = Number(res.headers['content-length']) || 0;
    const stream = opts.progress;
    if (stream) {
      bar = new cliProgress.SingleBar(
        {
          stream,
          format: `${opts.label ?? 'download'} [{bar}] {percentage}% | {value_mb}/{total_mb} MB | {speed}`,
          noTTYOutput: true,
          notTTYSchedule: 2000,
          hideCursor: !!stream.isTTY,
          barsize: 30,
        },
        cliProgress.Presets.shades_classic,
      );
      bar.start(total || 1, 0, { value_mb: '0.0', total_mb: total ? (total / 1e6).toFixed(1) : '?', speed: '' });
    }
    const hash = createHash('sha256');
    let bytes = 0;
    const t0 = Date.now();
    const counter = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        kick();
        bytes += chunk.length;
        hash.update(chunk);
        if (bar) {
          if (!total) bar.setTotal(bytes);
          const s = (Date.now() - t0) / 1000;
          bar.update(bytes, { value_mb: (bytes / 1e6).toFixed(1), speed: s > 0 ? `${(bytes / 1e6 / s).toFixed(1)} MB/s` : '' });
        }
        cb(null, chunk);
      },
    });
    try {
      await pipeline(res, counter, createWriteStream(tmp), { signal: ac.signal });
    } catch (e) {
      const code = timedOut ? 'timeout (stalled)' : describeError(e);
      throw new DownloadError(`download of ${url} failed after ${bytes} bytes: ${code}`, true);
    }
    if (total && bytes !== total) throw new DownloadError(`download of ${url} truncated: ${bytes} of ${total} bytes`, false);
    bar?.update(bytes, { value_mb: (bytes / 1e6).toFixed(1) });
    bar?.stop();
    bar = null;
    await rename(tmp, dest);
    return { sha256: hash.digest('hex'), bytes };
  } catch (e) {
    bar?.stop();
    await rm(tmp, { force: true });
    throw e;
  } finally {
    clearTimeout(timer);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Archives

export function archiveType(entry: ModelEntry): 'tar.bz2' | 'tar.gz' | 'tar' | null {
  const a = entry.archive ?? (/\.(tar\.bz2|tar\.gz|tgz|tar)$/.exec(entry.url)?.[1] || '');
  if (!a) return null;
  if (a === 'tar.bz2' || a === 'tbz2') return 'tar.bz2';
  if (a === 'tar.gz' || a === 'tgz') return 'tar.gz';
  if (a === 'tar') return 'tar';
  throw new UsageError(`model ${entry.id}: archive type "${a}" is not supported (tar.bz2, tar.gz, tar)`);
}

/** Extracts with the system `tar` (Node has gunzip but no bzip2; the Docker image installs bzip2). */
export function extract(archive: string, type: 'tar.bz2' | 'tar.gz' | 'tar', into: string): Promise<void> {
  const flag = type === 'tar.bz2' ? '-xjf' : type === 'tar.gz' ? '-xzf' : '-xf';
  return new Promise((res, rej) => {
    const p = spawn('tar', [flag, archive, '-C', into, '--no-same-owner'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('error', (e) => rej(new Error(`cannot run tar (${(e as Error).message}): install tar${type === 'tar.bz2' ? ' and bzip2' : ''}`)));
    p.on('close', (code) =>
      code === 0
        ? res()
        : rej(new Error(`tar ${flag} ${archive} failed (exit ${code}): ${err.trim()}${type === 'tar.bz2' && /bzip2/.test(err) ? ' (is bzip2 installed?)' : ''}`)),
    );
  });
}

/** Where the model folder sits inside an extracted archive. */
export async function extractedRoot(entry: ModelEntry, into: string): Promise<string> {
  if (entry.archiveRoot) return join(into, entry.archiveRoot);
  if (entry.dir && existsSync(join(into, entry.dir))) return join(into, entry.dir);
  const top = (await readdir(into, { withFileTypes: true })).filter((d) => !d.name.startsWith('.'));
  if (top.length === 1 && top[0].isDirectory()) return join(into, top[0].name);
  return into;
}

export function tmpName(dir: string, id: string, suffix: string): string {
  return join(dir, `.tmp-${id}-${randomBytes(4).toString('hex')}${suffix}`);
}

export const DISABLES: Record<ModelEntry['kind'], string> = {
  vad: 'voice activity detection: no barge-in and no speech detection (the gateway will not start with a VAD backend that needs it)',
  asr: 'speech recognition: no spoken consent / keyword detection (calls that expect consent end as "unclear")',
  voice: 'the embedded Mandarin syllable voice: text prompts need another TTS voice or pre-recorded audio',
  tts: 'this speech-synthesis voice: text prompts need another voice or pre-recorded audio',
};
