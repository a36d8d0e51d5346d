// Recorded-prompt uploads from an attacker (issue #13, item 5): decoding is bounded before anything is checked
// (the container sniffed, `-t` just past the longest prompt, `-protocol_whitelist file`, a timeout), bodies are
// capped (413) and so are uploads in progress (429), while a normal call beside barges in within budget.
import { execFileSync } from 'node:child_process';
import { request } from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../gateway/Gateway.js';
import { decodeToPcm, PromptImportError, sniffAudioFormat } from '../gateway/speak/promptImport.js';
import { besideNormalCall } from './helpers/bystander.js';
import { AUDIO_DIR } from './helpers/corpus.js';
import { startGateway } from './helpers/gateway.js';

let gw: Gateway;
let url: string;
let http: string;
/** This run's own scratch directory: nothing shared with other runs through a fixed path. */
const scratch = mkdtempSync(join(tmpdir(), 'earshot-upload-'));

const put = (id: string, body: Uint8Array) => fetch(`${http}/v1/prompts/${id}`, { method: 'PUT', body: new Uint8Array(body) });

beforeAll(async () => {
  ({ gw, url, http } = await startGateway({ asr: { model: '' }, limits: { maxUploadBytes: 4 * 1024 * 1024 } }));
});

afterAll(async () => {
  await gw?.stop(0);
});

describe('sniffAudioFormat', () => {
  it('names the allowed containers from their first bytes and nothing else', () => {
    const b = (s: string, pad = 16) => Buffer.concat([Buffer.from(s, 'latin1'), Buffer.alloc(pad)]);
    expect(sniffAudioFormat(b('RIFF\0\0\0\0WAVE'))).toBe('wav');
    expect(sniffAudioFormat(b('fLaC'))).toBe('flac');
    expect(sniffAudioFormat(b('OggS'))).toBe('ogg');
    expect(sniffAudioFormat(b('ID3\x04'))).toBe('mp3');
    expect(sniffAudioFormat(Buffer.from([0xff, 0xfb, 0x90, 0x64, ...new Array(12).fill(0)]))).toBe('mp3');
    expect(sniffAudioFormat(b('\0\0\0\x20ftypM4A '))).toBe('mov');
    expect(sniffAudioFormat(b('FORM\0\0\0\0AIFF'))).toBe('aiff');
    // ADTS AAC (layer 00), playlists, concat lists, images, text: none of them.
    expect(sniffAudioFormat(Buffer.from([0xff, 0xf1, 0x50, 0x80, ...new Array(12).fill(0)]))).toBeNull();
    expect(sniffAudioFormat(b('#EXTM3U\n#EXT-X-VERSION:3\n'))).toBeNull();
    expect(sniffAudioFormat(b("ffconcat version 1.0\nfile '/etc/passwd'\n"))).toBeNull();
    expect(sniffAudioFormat(b('\x89PNG\r\n\x1a\n'))).toBeNull();
    expect(sniffAudioFormat(b('hello'))).toBeNull();
  });
});

describe('decodeToPcm with untrusted input', () => {
  it('is killed at its timeout with a PromptImportError that says so', async () => {
    const wav = join(AUDIO_DIR, 'bargein/prompts/p01.wav');
    const e = await decodeToPcm(wav, 16000, { untrusted: { format: 'wav', maxSeconds: 60, timeoutMs: 1 } }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(PromptImportError);
    expect((e as PromptImportError).timedOut).toBe(true);
  });

  it('reads no more than maxSeconds of the file', async () => {
    const wav = join(AUDIO_DIR, 'bargein/prompts/p01.wav'); // 4.94 s
    const pcm = await decodeToPcm(wav, 16000, { untrusted: { format: 'wav', maxSeconds: 1.5, timeoutMs: 10_000 } });
    expect(pcm.length).toBeLessThanOrEqual(1.5 * 16000 + 320);
    expect(pcm.length).toBeGreaterThan(1.4 * 16000);
  });

  it('a file whose container is not the one named is refused, not guessed', async () => {
    const wav = join(AUDIO_DIR, 'bargein/prompts/p01.wav');
    await expect(decodeToPcm(wav, 16000, { untrusted: { format: 'flac', maxSeconds: 60, timeoutMs: 10_000 } })).rejects.toBeInstanceOf(PromptImportError);
  });
});

describe('PUT /v1/prompts under attack', () => {
  it('an hour of silence in a small FLAC is refused as too long without decoding the hour', async () => {
    const flac = join(scratch, 'hour.flac');
    execFileSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'anullsrc=r=8000:cl=mono', '-t', '3600', '-c:a', 'flac', flac]);
    const body = (await import('node:fs')).readFileSync(flac);
    expect(body.length).toBeLessThan(1024 * 1024);
    await besideNormalCall({ url, http }, 'beside-flac', async () => {
      const rss0 = process.memoryUsage().rss;
      const t0 = performance.now();
      const r = await put('hour', body);
      const ms = performance.now() - t0;
      expect(r.status).toBe(400);
      expect(((await r.json()) as { error: string }).error).toBe('prompt_too_long');
      // Was 2.4 s and +413 MiB: now it stops just past 60 s of audio.
      expect(ms).toBeLessThan(2000);
      expect(process.memoryUsage().rss - rss0).toBeLessThan(100 * 1024 * 1024);
    });
  }, 30_000);

  it('a playlist, a concat list or text is refused as unsupported_format (415) before ffmpeg sees it', async () => {
    writeFileSync(join(scratch, 'secret.wav'), 'not for you');
    for (const text of ['#EXTM3U\n#EXTINF:10,\nfile:///etc/passwd\n', `ffconcat version 1.0\nfile '${join(scratch, 'secret.wav')}'\n`, 'plain text, not audio at all']) {
      const r = await put('sneaky', Buffer.from(text));
      expect(r.status).toBe(415);
      expect(((await r.json()) as { error: string }).error).toBe('unsupported_format');
    }
    expect((await fetch(`${http}/v1/prompts/sneaky`)).status).toBe(404);
  });

  it('a body over maxUploadBytes is refused with 413, whether it says so up front or not', async () => {
    const big = new Uint8Array(5 * 1024 * 1024);
    const declared = await put('big', big);
    expect(declared.status).toBe(413);
    expect(((await declared.json()) as { error: string }).error).toBe('payload_too_large');
    // Chunked, with no length declared: cut off once it passes the limit.
    const status = await new Promise<number>((resolve, reject) => {
      const u = new URL(`${http}/v1/prompts/big-chunked`);
      const req = request({ host: u.hostname, port: u.port, path: u.pathname, method: 'PUT', agent: false, headers: { 'transfer-encoding': 'chunked' } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      for (let i = 0; i < 6; i++) req.write(new Uint8Array(1024 * 1024));
      req.end();
    });
    expect(status).toBe(413);
  });

  it('more uploads at once than maxConcurrentUploads: the extra one is refused with 429 before its body is read', async () => {
    const u = new URL(`${http}/v1/prompts/slow`);
    // Two uploads that trickle their bodies, holding both slots.
    const slow = [0, 1].map((i) => {
      // Each on a connection of its own (no keep-alive socket the gateway may have closed after an earlier 413).
      const req = request({ host: u.hostname, port: u.port, path: `${u.pathname}-${i}`, method: 'PUT', agent: false, headers: { 'content-length': '1000000' } });
      req.on('error', () => undefined);
      req.write(new Uint8Array(1000));
      return req;
    });
    await new Promise((r) => setTimeout(r, 200));
    const third = await put('third', new Uint8Array(1000));
    expect(third.status).toBe(429);
    expect(third.headers.get('retry-after')).toBe('2');
    expect(((await third.json()) as { error: string }).error).toBe('too_many_uploads');
    for (const r of slow) r.destroy();
    await new Promise((r) => setTimeout(r, 200));
    // The slots are free again once those uploads are gone.
    const wav = (await import('node:fs')).readFileSync(join(AUDIO_DIR, 'bargein/prompts/p01.wav'));
    expect((await put('after', wav)).status).toBe(201);
  });
});
