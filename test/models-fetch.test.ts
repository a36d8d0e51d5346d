// `npm run models` (models/fetch.ts), run as a child process exactly as users run it. Downloads come from a local
// HTTP server started here, serving fixtures made at test time; nothing leaves the machine. Each test has its own
// directories and manifest, so they run concurrently: each is a child process that mostly waits on its own startup.
import { execFile, execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..');
const SHARED = resolve(ROOT, '..', 'shared', 'models');
const KWS_DIR = 'sherpa-onnx-kws-zipformer-wenetspeech-3.3M-2024-01-01-mobile';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  out: string;
}

function run(args: string[], env: Record<string, string | undefined> = {}): Promise<Run> {
  const e: NodeJS.ProcessEnv = { ...process.env, ...env };
  delete e.EARSHOT_CONFIG;
  if (!('EARSHOT_MODELS_DIR' in env)) delete e.EARSHOT_MODELS_DIR;
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete e[k];
  return new Promise((res) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', join(ROOT, 'models', 'fetch.ts'), ...args],
      { cwd: ROOT, env: e, timeout: 90_000, maxBuffer: 16 << 20 },
      (err, stdout, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1) : 0;
        res({ code, stdout, stderr, out: stdout + stderr });
      },
    );
  });
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

let tmp: string;
const mk = (name: string) => {
  const d = join(tmp, name);
  mkdirSync(d, { recursive: true });
  return d;
};

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'earshot-models-'));
});
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

function rowOf(out: string, id: string): string {
  const line = out.split('\n').find((l) => l.startsWith(id + ' '));
  if (!line) throw new Error(`no table row for ${id} in:\n${out}`);
  return line;
}

describe.concurrent('npm run models --check', () => {
  it('verifies the shared models and reports their checksums ok', async () => {
    const r = await run(['--check', 'silero-vad-v5', 'zipformer-wenetspeech-kws-3.3m', 'ten-vad', '--dir', mk('empty-check')]);
    expect(r.code, r.out).toBe(0);
    for (const id of ['silero-vad-v5', 'zipformer-wenetspeech-kws-3.3m', 'ten-vad']) {
      const row = rowOf(r.stdout, id);
      expect(row).toMatch(/\byes\b/);
      expect(row).toContain(SHARED);
      expect(row).toMatch(/\bok$/);
    }
    expect(r.stdout).toMatch(/^id\s+kind\s+present\s+where\s+checksum/m);
    expect(r.stdout).toContain('all 3 model(s) present');
  });

  it('detects a corrupted copy (one byte changed) as a checksum mismatch, via --dir', async () => {
    const dir = mk('corrupt-ten');
    const buf = readFileSync(join(SHARED, 'ten-vad.onnx'));
    buf[Math.floor(buf.length / 2)] ^= 0x01;
    writeFileSync(join(dir, 'ten-vad.onnx'), buf);
    const r = await run(['--check', 'ten-vad', '--dir', dir]);
    expect(r.code, r.out).toBe(1);
    const row = rowOf(r.stdout, 'ten-vad');
    expect(row).toContain(dir);
    expect(row).toContain('MISMATCH: ten-vad.onnx');
    expect(r.stdout).toContain('expected 718cb7eef47e3cf5ddbe7e967a7503f46b8b469c0706872f494dfa921b486206');
    expect(r.stdout).toContain(`got ${sha(buf)}`);
  });

  it('detects a corrupted tokens.txt in a model folder found through EARSHOT_MODELS_DIR', async () => {
    const dir = mk('corrupt-kws');
    mkdirSync(join(dir, KWS_DIR));
    for (const f of readdirSync(join(SHARED, KWS_DIR))) {
      if (f.endsWith('.onnx')) copyFileSync(join(SHARED, KWS_DIR, f), join(dir, KWS_DIR, f));
    }
    const tokens = readFileSync(join(SHARED, KWS_DIR, 'tokens.txt'));
    tokens[0] = tokens[0] === 0x61 ? 0x62 : 0x61;
    writeFileSync(join(dir, KWS_DIR, 'tokens.txt'), tokens);
    const r = await run(['--check', 'zipformer-wenetspeech-kws-3.3m'], { EARSHOT_MODELS_DIR: dir });
    expect(r.code, r.out).toBe(1);
    const row = rowOf(r.stdout, 'zipformer-wenetspeech-kws-3.3m');
    expect(row).toContain(join(dir, KWS_DIR));
    expect(row).toContain('MISMATCH: tokens.txt');
    expect(row).not.toContain('encoder');
  });

  it('reports a missing model and what it disables, exit 1', async () => {
    const r = await run(['--check', 'kitten-nano-en-v0_1', 'silero-vad-v5', '--dir', mk('empty-missing')]);
    expect(r.code, r.out).toBe(1);
    expect(rowOf(r.stdout, 'kitten-nano-en-v0_1')).toMatch(/\bNO\b/);
    expect(r.stdout).toMatch(/kitten-nano-en-v0_1: missing: disables .*speech-synthesis/);
    expect(rowOf(r.stdout, 'silero-vad-v5')).toMatch(/ok$/);
  });
});

describe.concurrent('npm run models: usage errors', () => {
  it('an unknown id is a clear error listing the known ids, exit 2', async () => {
    const r = await run(['--check', 'silero-vad-v5', 'no-such-model', '--dir', mk('empty-unknown')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('unknown model id: no-such-model');
    expect(r.stderr).toMatch(/known: silero-vad-v5, ten-vad, /);
  });

  it('an unknown option and a missing option value are errors, exit 2', async () => {
    const a = await run(['--frobnicate']);
    expect(a.code).toBe(2);
    expect(a.stderr).toContain('unknown option --frobnicate');
    const b = await run(['--dir']);
    expect(b.code).toBe(2);
    expect(b.stderr).toContain('--dir needs a value');
  });
});

describe.concurrent('npm run models: downloads from a local server', () => {
  let server: Server;
  let base: string;
  const good = randomBytes(300_000);
  const bad = randomBytes(50_000);
  let tgz: Buffer;
  let tbz: Buffer;
  const requests: string[] = [];

  beforeAll(async () => {
    // Archives made with the system tar, like the upstream release assets.
    const src = mk('archive-src');
    mkdirSync(join(src, 'upstream-root', 'sub'), { recursive: true });
    writeFileSync(join(src, 'upstream-root', 'model.onnx'), randomBytes(20_000));
    writeFileSync(join(src, 'upstream-root', 'sub', 'a.txt'), 'a\n');
    writeFileSync(join(src, 'upstream-root', 'tokens.txt'), 'x 0\ny 1\n');
    execFileSync('tar', ['-czf', join(tmp, 'fx.tar.gz'), '-C', src, 'upstream-root']);
    execFileSync('tar', ['-cjf', join(tmp, 'fx.tar.bz2'), '-C', src, 'upstream-root']);
    tgz = readFileSync(join(tmp, 'fx.tar.gz'));
    tbz = readFileSync(join(tmp, 'fx.tar.bz2'));
    server = createServer((req, res) => {
      requests.push(req.url ?? '');
      const send = (b: Buffer) => {
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': b.length });
        res.end(b);
      };
      if (req.url === '/release/good.bin') {
        // GitHub release assets answer with a redirect to the storage host.
        res.writeHead(302, { location: '/storage/good.bin' });
        res.end();
      } else if (req.url === '/storage/good.bin') send(good);
      else if (req.url === '/bad.bin') send(bad);
      else if (req.url === '/fx.tar.gz') send(tgz);
      else if (req.url === '/fx.tar.bz2') send(tbz);
      else if (req.url === '/stall') {
        // Headers, some bytes, then nothing: the stall timeout must end it.
        res.writeHead(200, { 'content-length': 1_000_000 });
        res.write(Buffer.alloc(1000));
      }
      else {
        res.writeHead(404);
        res.end('not found');
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => {
    server.closeAllConnections();
    server.close(() => r());
  }));

  function manifest(name: string, models: object[]): string {
    const p = join(tmp, `${name}.manifest.json`);
    writeFileSync(p, JSON.stringify({ models }));
    return p;
  }
  const leftovers = (dir: string) => (existsSync(dir) ? readdirSync(dir).filter((f) => f.startsWith('.tmp-') || f.endsWith('.part')) : []);

  it('downloads through a redirect with a progress bar, checks sha256, then finds it present on the next run', async () => {
    const m = manifest('good', [
      { id: 'fx-good', kind: 'vad', licence: 'test', dir: 'fx-good', files: { model: 'good.bin' }, sha256: { 'good.bin': sha(good) }, url: `${base}/release/good.bin` },
    ]);
    const dir = mk('dl-good');
    // The other downloads run concurrently against the same server: only this file's requests count.
    const mine = () => requests.filter((u) => u.endsWith('/good.bin'));
    const r = await run(['fx-good', '--manifest', m, '--dir', dir]);
    expect(r.code, r.out).toBe(0);
    expect(mine()).toEqual(['/release/good.bin', '/storage/good.bin']);
    expect(readFileSync(join(dir, 'fx-good', 'good.bin')).equals(good)).toBe(true);
    expect(r.stderr).toMatch(/fx-good \[[^\]]*\] 100% \| 0\.3\/0\.3 MB/);
    expect(rowOf(r.stdout, 'fx-good')).toMatch(/yes\s+\S*dl-good\/fx-good\s+ok$/);
    expect(leftovers(dir)).toEqual([]);

    const again = await run(['fx-good', '--manifest', m, '--dir', dir]);
    expect(again.code, again.out).toBe(0);
    expect(mine()).toEqual(['/release/good.bin', '/storage/good.bin']);
    expect(again.stderr).toContain('fx-good: present in');
  });

  it('rejects a served file with the wrong checksum and leaves nothing in the cache', async () => {
    const m = manifest('bad', [
      { id: 'fx-bad', kind: 'asr', licence: 'test', dir: 'fx-bad', files: { model: 'bad.bin' }, sha256: { 'bad.bin': sha(good) }, url: `${base}/bad.bin` },
    ]);
    const dir = mk('dl-bad');
    const r = await run(['fx-bad', '--manifest', m, '--dir', dir]);
    expect(r.code, r.out).toBe(1);
    expect(r.stderr).toContain('REJECTED');
    expect(r.stderr).toContain(`sha256 ${sha(bad)} does not match`);
    expect(existsSync(join(dir, 'fx-bad'))).toBe(false);
    expect(readdirSync(dir)).toEqual([]);
    expect(r.out).toMatch(/MISSING/);
    expect(r.out).toContain('speech recognition');
  });

  it('an HTTP 404 is a failed download, not a crash', async () => {
    const m = manifest('404', [{ id: 'fx-404', kind: 'vad', licence: 't', dir: 'fx-404', files: { model: 'x.bin' }, sha256: {}, url: `${base}/nope.bin` }]);
    const dir = mk('dl-404');
    const r = await run(['fx-404', '--manifest', m, '--dir', dir]);
    expect(r.code, r.out).toBe(1);
    expect(r.stderr).toContain('HTTP 404');
    expect(readdirSync(dir)).toEqual([]);
  });

  it('extracts a tar.gz with archiveRoot, and records trust-on-first-use hashes when the manifest has none', async () => {
    const entry = {
      id: 'fx-tgz',
      kind: 'voice',
      licence: 't',
      dir: 'fx-voice',
      files: { model: 'model.onnx', sub: 'sub' },
      sha256: {},
      url: `${base}/fx.tar.gz`,
      archive: 'tar.gz',
      archiveRoot: 'upstream-root',
    };
    const m = manifest('tgz', [entry]);
    const dir = mk('dl-tgz');
    const r = await run(['fx-tgz', '--manifest', m, '--dir', dir]);
    expect(r.code, r.out).toBe(0);
    expect(existsSync(join(dir, 'fx-voice', 'model.onnx'))).toBe(true);
    expect(readFileSync(join(dir, 'fx-voice', 'sub', 'a.txt'), 'utf8')).toBe('a\n');
    expect(r.stderr).toMatch(/WARNING fx-tgz: .*no sha256.*Trust on first use/);
    const rec = JSON.parse(readFileSync(join(dir, 'fx-tgz.sha256.json'), 'utf8'));
    expect(rec.sha256['model.onnx']).toBe(sha(readFileSync(join(dir, 'fx-voice', 'model.onnx'))));
    expect(rec.sha256.sub).toMatch(/^tree:[0-9a-f]{64}$/);
    expect(rec.note).toMatch(/trust-on-first-use/);
    expect(leftovers(dir)).toEqual([]);

    const ok = await run(['--check', 'fx-tgz', '--manifest', m, '--dir', dir]);
    expect(ok.code, ok.out).toBe(0);
    expect(rowOf(ok.stdout, 'fx-tgz')).toMatch(/ok \(tofu\)$/);

    writeFileSync(join(dir, 'fx-voice', 'sub', 'a.txt'), 'b\n');
    const bad = await run(['--check', 'fx-tgz', '--manifest', m, '--dir', dir]);
    expect(bad.code).toBe(1);
    expect(rowOf(bad.stdout, 'fx-tgz')).toContain('MISMATCH: sub');
  });

  it('extracts a tar.bz2 with the system tar and verifies the extracted files', async () => {
    const tokensSha = sha(Buffer.from('x 0\ny 1\n'));
    const m = manifest('tbz', [
      { id: 'fx-tbz', kind: 'asr', licence: 't', dir: 'upstream-root', files: { tokens: 'tokens.txt' }, sha256: { 'tokens.txt': tokensSha }, url: `${base}/fx.tar.bz2`, archive: 'tar.bz2' },
      { id: 'fx-tbz-bad', kind: 'asr', licence: 't', dir: 'upstream-root', files: { tokens: 'tokens.txt' }, sha256: { 'tokens.txt': '0'.repeat(64) }, url: `${base}/fx.tar.bz2`, archive: 'tar.bz2' },
    ]);
    const dir = mk('dl-tbz');
    const r = await run(['fx-tbz', '--manifest', m, '--dir', dir]);
    expect(r.code, r.out).toBe(0);
    expect(readFileSync(join(dir, 'upstream-root', 'tokens.txt'), 'utf8')).toBe('x 0\ny 1\n');

    const dir2 = mk('dl-tbz-bad');
    const b = await run(['fx-tbz-bad', '--manifest', m, '--dir', dir2]);
    expect(b.code, b.out).toBe(1);
    expect(b.stderr).toContain('REJECTED');
    expect(readdirSync(dir2)).toEqual([]);
  });

  it('offline (connection refused): falls back to the copy in EARSHOT_MODELS_DIR and verifies it there', async () => {
    const fallback = mk('fallback');
    mkdirSync(join(fallback, 'fx-off'));
    writeFileSync(join(fallback, 'fx-off', 'good.bin'), good);
    const m = manifest('off', [
      { id: 'fx-off', kind: 'vad', licence: 't', dir: 'fx-off', files: { model: 'good.bin' }, sha256: { 'good.bin': sha(good) }, url: 'http://127.0.0.1:1/good.bin' },
    ]);
    const dir = mk('dl-off');
    const t0 = Date.now();
    const r = await run(['fx-off', '--manifest', m, '--dir', dir], { EARSHOT_MODELS_DIR: fallback });
    expect(r.code, r.out).toBe(0);
    expect(Date.now() - t0).toBeLessThan(30_000);
    expect(r.stderr).toMatch(/download failed \(offline\?\).*ECONNREFUSED/);
    expect(r.stderr).toContain(`using the copy found in ${join(fallback, 'fx-off')}`);
    expect(rowOf(r.stdout, 'fx-off')).toMatch(/ok$/);
    expect(readdirSync(dir)).toEqual([]);

    // The same with no copy anywhere: a clear MISSING report naming the places looked at, exit 1.
    const none = await run(['fx-off', '--manifest', m, '--dir', dir]);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('fx-off: MISSING');
    expect(none.stderr).toContain(join(SHARED, 'fx-off'));
    expect(none.stderr).toContain('voice activity detection');
  });

  it('a stalled download times out (--timeout) and leaves no partial file', async () => {
    const m = manifest('stall', [{ id: 'fx-stall', kind: 'vad', licence: 't', dir: 'fx-stall', files: { model: 'x.bin' }, sha256: {}, url: `${base}/stall` }]);
    const dir = mk('dl-stall');
    const t0 = Date.now();
    const r = await run(['fx-stall', '--manifest', m, '--dir', dir, '--timeout', '800']);
    expect(r.code, r.out).toBe(1);
    expect(Date.now() - t0).toBeLessThan(20_000);
    expect(r.stderr).toContain('timeout (stalled)');
    expect(readdirSync(dir)).toEqual([]);
  });

  it('offline fallback with a corrupt fallback copy fails', async () => {
    const fallback = mk('fallback-bad');
    mkdirSync(join(fallback, 'fx-off2'));
    writeFileSync(join(fallback, 'fx-off2', 'good.bin'), bad);
    const m = manifest('off2', [
      { id: 'fx-off2', kind: 'vad', licence: 't', dir: 'fx-off2', files: { model: 'good.bin' }, sha256: { 'good.bin': sha(good) }, url: 'http://127.0.0.1:1/good.bin' },
    ]);
    const r = await run(['fx-off2', '--manifest', m, '--dir', mk('dl-off2')], { EARSHOT_MODELS_DIR: fallback });
    expect(r.code, r.out).toBe(1);
    expect(rowOf(r.stdout, 'fx-off2')).toContain('MISMATCH: good.bin');
  });
});
