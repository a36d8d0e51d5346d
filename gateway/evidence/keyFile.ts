// Where the evidence key comes from, in order: EARSHOT_EVIDENCE_KEY (hex keys, newest first), evidence.keyFile,
// else `evidence.key` beside the database file, generated (32 random bytes, mode 0600) on the first start. The key
// is never logged; only its id is. A key that lives beside the database only defeats someone holding the database
// alone (a copy, a backup, SQL access); keep it elsewhere (a secret store, another volume) for more — README.md.
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fsyncDir } from './audioFile.js';
import { keyring, parseKeyMaterial, type Keyring } from './keyring.js';

export const KEY_ENV = 'EARSHOT_EVIDENCE_KEY';
export const DEFAULT_KEY_FILE = 'evidence.key';

export interface LoadedKeys {
  ring: Keyring;
  /** Where it came from, for the start-up log: the variable's name or the file's path (never the key). */
  source: string;
  created: boolean;
}

export function defaultKeyPath(dbFile: string): string {
  return join(dirname(resolve(dbFile)), DEFAULT_KEY_FILE);
}

/**
 * Reads the keys; generates the default key file when nothing is configured and it does not exist yet, unless
 * `mayCreate` is false (the chain already holds MAC'd records: a new key would silently orphan them).
 */
export function loadEvidenceKeys(opts: { env: NodeJS.ProcessEnv; keyFile?: string; dbFile: string; mayCreate: boolean; create?: boolean }): LoadedKeys {
  const fromEnv = opts.env[KEY_ENV];
  if (fromEnv !== undefined && fromEnv.trim() !== '') return { ring: keyring(parseKeyMaterial(fromEnv, KEY_ENV)), source: KEY_ENV, created: false };
  if (opts.keyFile) {
    const p = resolve(opts.keyFile);
    if (!existsSync(p)) throw new Error(`evidence.keyFile ${p} does not exist`);
    return { ring: keyring(parseKeyMaterial(readFileSync(p, 'utf8'), p)), source: p, created: false };
  }
  const p = defaultKeyPath(opts.dbFile);
  if (existsSync(p)) return { ring: keyring(parseKeyMaterial(readFileSync(p, 'utf8'), p)), source: p, created: false };
  if (opts.create === false) throw new Error(`no evidence key: set ${KEY_ENV} or evidence.keyFile, or put it in ${p}`);
  if (!opts.mayCreate) {
    throw new Error(`no evidence key at ${p}, but the evidence chain holds records MAC'd with one: restore the key file (or set ${KEY_ENV}) rather than start a new key`);
  }
  createKeyFile(p);
  return { ring: keyring(parseKeyMaterial(readFileSync(p, 'utf8'), p)), source: p, created: true };
}

function createKeyFile(p: string): void {
  mkdirSync(dirname(p), { recursive: true, mode: 0o700 });
  // wx: never overwrite a key another process created meanwhile; 0600: the key is the whole point.
  let fd: number;
  try {
    fd = openSync(p, 'wx', 0o600);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return;
    throw e;
  }
  try {
    writeSync(fd, `# earshot evidence MAC key (hex). Newest first; keep retired keys below it to verify older records.\n${randomBytes(32).toString('hex')}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  fsyncDir(dirname(p));
}
