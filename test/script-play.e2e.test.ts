// Recorded prompts in approved scripts, end to end: a studio recording uploaded to the library, a script whose
// first node plays it and whose second says a line with the callee's name, approved (the recording's SHA-256
// pinned into the file), then a marketing call over the native WebSocket hears exactly that recording, the slot
// line synthesised, and nothing else; `earshot scripts approve` refuses a prompt the library lacks; a recording
// replaced under the same id after approval is never played.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGateway } from '../gateway/app.js';
import type { ScriptsFeature } from '../gateway/features/scripts.js';
import type { Gateway } from '../gateway/Gateway.js';
import { PROJECT_ROOT } from '../gateway/models.js';
import { PromptPinError } from '../gateway/script/pins.js';
import { TestCall } from './helpers/client.js';
import { AUDIO_DIR, wireAudio } from './helpers/corpus.js';
import { CALLING_HOURS, startGateway } from './helpers/gateway.js';

const RECORDING = 'bargein/prompts/p01.wav';

const script = (play: string) => `# studio greeting first, then the callee's name through TTS
id: studio-greeting
version: 1
language: zh
callType: marketing
voice: syllable
slots: [name]
exhausted: bye
noConsent: bye
nodes:
  greet:
    play: ${play}
    next: bye
  bye:
    say: "{name}，再见。"
    next: hangup
`;

let gw: Gateway;
let url: string;
let http: string;
let dataDir: string;
let scripts: ScriptsFeature;
let file: string;

beforeAll(async () => {
  ({ gw, url, http, dataDir } = await startGateway({ asr: { model: '' } }));
  scripts = gw.plugins.find((p) => p.name === 'scripts') as ScriptsFeature;
  const put = await fetch(`${http}/v1/prompts/studio-greet?loudness=off`, { method: 'PUT', body: new Uint8Array(readFileSync(join(AUDIO_DIR, RECORDING))) });
  expect(put.status).toBe(201);
  file = join(dataDir, 'studio-greeting.yaml');
  writeFileSync(file, script('studio-greet'));
}, 120_000);

afterAll(async () => {
  await gw?.stop(0);
});

async function scriptedCall(callId: string, base = url): Promise<{ c: TestCall; audio: Int16Array; ready: { type: string; reason?: unknown } }> {
  const c = new TestCall(base);
  const chunks: Buffer[] = [];
  c.ws.on('message', (d, bin) => bin && chunks.push(Buffer.from(d as Buffer)));
  const ready = await c.start({ callId, encoding: 'pcm16', sampleRate: 16000, callType: 'marketing', callee: '+8613800138000', script: 'studio-greeting@1', slots: { name: '王先生' } });
  if (ready.type === 'ready') await c.waitFor('call_summary', 30_000);
  const all = Buffer.concat(chunks);
  return { c, audio: new Int16Array(all.buffer, all.byteOffset, all.length >> 1), ready: ready as { type: string; reason?: unknown } };
}

describe('recorded prompts in approved scripts', () => {
  it('approval refuses a prompt the library lacks, through the feature and through `earshot scripts approve`', async () => {
    const missing = join(dataDir, 'missing.yaml');
    const text = script('never-uploaded').replace('id: studio-greeting', 'id: missing-greeting');
    writeFileSync(missing, text);
    await expect(scripts.approve(missing)).rejects.toBeInstanceOf(PromptPinError);
    // The CLI in its own process, as an operator runs it (in this one it would close the gateway's database).
    const cli = spawnSync(process.execPath, [join(PROJECT_ROOT, 'bin/earshot.js'), 'scripts', 'approve', missing], { env: { ...process.env, EARSHOT_DATA_DIR: dataDir }, encoding: 'utf8', timeout: 60_000 });
    expect(cli.status).toBe(1);
    const err = cli.stderr;
    expect(err).toMatch(/nodes\.greet\.play: no recorded prompt "never-uploaded"/);
    expect(readFileSync(missing, 'utf8')).toBe(text);
  });

  it('a marketing call plays the pinned recording sample for sample, then the slot line through TTS, and nothing else', async () => {
    const info = await (await fetch(`${http}/v1/prompts/studio-greet`)).json();
    const r = await scripts.approve(file, 'test');
    expect(r.created).toBe(true);
    expect(r.pins).toEqual([{ node: 'greet', prompt: 'studio-greet', sha256: info.sha256, added: true }]);
    expect(readFileSync(file, 'utf8')).toContain(`play: { prompt: "studio-greet", sha256: ${info.sha256} }`);

    const { c, audio, ready } = await scriptedCall('studio-1');
    expect(ready.type).toBe('ready');
    expect(c.events('script_node').map((e) => e.node)).toEqual(['greet', 'bye']);
    const finished = c.events('prompt_finished');
    expect(finished.map((e) => [e.promptId, e.reason])).toEqual([
      ['greet.1', 'completed'],
      ['bye.2', 'completed'],
    ]);
    expect(c.events('call_summary')[0].reason).toBe('script_end');
    const want = wireAudio(RECORDING).samples;
    expect(Array.from(audio.subarray(0, want.length))).toEqual(Array.from(want));
    // The recording is padded to whole 20 ms frames; the synthesised line follows it and is speech, not silence.
    const after = audio.subarray(Math.ceil(want.length / 320) * 320);
    expect(after.length).toBeGreaterThan(16000 * 0.3);
    expect(Math.max(...Array.from(after, Math.abs))).toBeGreaterThan(1000);
  });

  it('a client cannot play the recording itself on a marketing call', async () => {
    const c = new TestCall(url);
    expect((await c.start({ callId: 'studio-raw', encoding: 'pcm16', sampleRate: 16000, callType: 'marketing', callee: '+8613800138001' })).type).toBe('ready');
    c.send({ type: 'play', promptId: 'studio-greet' });
    expect((await c.waitFor('error')).code).toBe('unapproved_audio');
    await c.hangup();
    expect(c.events('prompt_started')).toEqual([]);
  });

  it('a recording replaced under the same id after approval is never played: the call is refused at start', async () => {
    await gw.stop(0);
    // Prompts are immutable over the API; on disk anyone with access to the data dir can still swap one.
    const sidecar = join(dataDir, 'prompts', `${Buffer.from('studio-greet').toString('hex')}.json`);
    const meta = JSON.parse(readFileSync(sidecar, 'utf8'));
    writeFileSync(sidecar, JSON.stringify({ ...meta, sha256: 'f'.repeat(64) }));
    gw = await createGateway({ port: 0, host: '127.0.0.1', dataDir, asr: { model: '' }, policy: { clock: CALLING_HOURS } }, {});
    const { port } = await gw.start();
    const { c, audio, ready } = await scriptedCall('studio-2', `ws://127.0.0.1:${port}/v1/stream`);
    expect(ready).toMatchObject({ type: 'rejected', reason: 'script_prompt_changed' });
    expect(audio.length).toBe(0);
    expect(c.events('prompt_started')).toEqual([]);
  });
});
