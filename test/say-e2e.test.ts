// `say` through the gateway: engine choice, streaming, free-text rules (unapproved_text on marketing calls),
// consent-gated script lines, and time-to-first-audio for cached (approved script) vs uncached (free) text.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../gateway/Gateway.js';
import type { ScriptsFeature } from '../gateway/features/scripts.js';
import { CALLING_HOURS, startGateway } from './helpers/gateway.js';
import { TestCall } from './helpers/client.js';
import { until } from './helpers/until.js';

const INFO = '您的快递已到达驿站，请在今天下午六点前领取。';
const NOTIFY = `id: e2e-notify
version: 1
language: zh
callType: notification
start: hold
exhausted: bye
noConsent: bye
nodes:
  hold:
    listen:
      windowMs: 60000
    on:
      granted: bye
      refused: bye
      unclear: bye
      timeout: bye
      dtmf:
        "1": info
  info:
    say: "${INFO}"
    next: bye
  bye:
    say: "再见。"
    next: hangup
`;
const MARKETING = `id: e2e-sales
version: 1
language: zh
callType: marketing
slots: [name]
nodes:
  greet:
    say: "您好{name}。"
    next: ask
  ask:
    say: "可以吗？"
    listen:
      windowMs: 60000
    on:
      granted: pitch
      refused: goodbye
  pitch:
    say: "这是我们的优惠。"
    requiresConsent: true
    next: goodbye
  goodbye:
    say: "再见。"
    next: hangup
`;

let gw: Gateway;
let url: string;
let dataDir: string;
let k = 0;

beforeAll(async () => {
  ({ gw, url, dataDir } = await startGateway({ policy: { clock: CALLING_HOURS } }));
  const scripts = gw.plugins.find((p) => p.name === 'scripts') as ScriptsFeature;
  for (const [name, text] of [['notify.yaml', NOTIFY], ['sales.yaml', MARKETING]]) {
    writeFileSync(join(dataDir, name), text);
    await scripts.approve(join(dataDir, name));
  }
}, 120_000);

afterAll(async () => {
  await gw?.stop(1000);
});

async function open(extra: Record<string, unknown>, encoding: 'pcm16' | 'mulaw' = 'pcm16', sampleRate = 16000): Promise<TestCall> {
  const c = new TestCall(url);
  const r = await c.start({ callId: `say-${++k}-${Date.now()}`, encoding, sampleRate, ...extra });
  expect(r.type).toBe('ready');
  return c;
}

/** Sends a say and returns ms from send to the first audio frame of that prompt at the client. */
async function ttfa(c: TestCall, promptId: string, text: string, extra: Record<string, unknown> = {}): Promise<number> {
  const before = c.rx.frames.length;
  const t0 = performance.now();
  c.send({ type: 'say', promptId, text, ...extra });
  await c.waitFor((e) => (e.type === 'prompt_started' && e.promptId === promptId) || e.type === 'error', 20_000);
  const err = c.events('error').find((e) => e.at >= t0);
  if (err) throw new Error(`say failed: ${String(err.code)} ${String(err.message)}`);
  while (c.rx.frames.length === before) await new Promise((r) => setTimeout(r, 1));
  const dt = c.rx.frames[before].at - t0;
  c.send({ type: 'stop_prompt' });
  await c.waitFor((e) => e.type === 'prompt_finished' && e.promptId === promptId);
  return dt;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

// The first test times first audio and runs alone; the others are separate calls and run side by side.
describe('say', () => {
  it('free text on a notification call streams audio; first audio cached vs uncached', async () => {
    const out: string[] = [];
    for (const [enc, rate] of [['pcm16', 16000], ['mulaw', 8000]] as const) {
      const c = await open({ callType: 'notification', script: 'e2e-notify@1' }, enc, rate);
      const cached: number[] = [];
      const uncached: number[] = [];
      for (let i = 0; i < 5; i++) {
        cached.push(await ttfa(c, `cached-${i}`, INFO));
        uncached.push(await ttfa(c, `free-${i}`, `您好，您的取件码是${1000 + Math.floor(Math.random() * 8999)}，请在今天下午六点前领取。`));
      }
      const esp: number[] = [];
      for (let i = 0; i < 3; i++) esp.push(await ttfa(c, `esp-${i}`, `您好，您的取件码是${1000 + Math.floor(Math.random() * 8999)}。`, { voice: 'espeak' }));
      out.push(`${enc}@${rate}: cached median ${median(cached).toFixed(1)} ms (max ${Math.max(...cached).toFixed(1)}), uncached syllable median ${median(uncached).toFixed(1)} ms (max ${Math.max(...uncached).toFixed(1)}), uncached espeak median ${median(esp).toFixed(1)} ms`);
      // What the test is about: first audio within the budget when cached (bench/budgets.json firstAudioMs, 100 ms),
      // a cached prompt faster than an uncached one, and synthesis on the fly far from a stall. Medians, with wide
      // margins over what was measured (cached 1–2 ms, syllable 35–42 ms, espeak 230–370 ms): a regression, not
      // noise, fails them.
      expect(median(cached)).toBeLessThanOrEqual(100);
      expect(median(cached)).toBeLessThan(median(uncached));
      expect(median(uncached)).toBeLessThanOrEqual(300);
      expect(median(esp)).toBeLessThanOrEqual(1500);
      const summary = await c.hangup();
      expect(summary.reason).toBe('hangup');
      // Streaming: the free-text prompt started long before its whole audio could have been sent.
    }
    process.stdout.write(`[say-ttfa] ${out.join('\n[say-ttfa] ')}\n`);
  }, 120_000);

  it.concurrent('a long free-text prompt starts playing before it is fully synthesised', async () => {
    const c = await open({ callType: 'notification' });
    const text = '尊敬的客户您好，这里是星河快递。您的包裹已经到达小区东门的驿站，取件码是八八六四。';
    const t0 = performance.now();
    c.send({ type: 'say', promptId: 'long', text });
    await c.firstFrame();
    const first = performance.now() - t0;
    const fin = await c.waitFor((e) => e.type === 'prompt_finished' && e.promptId === 'long', 60_000);
    expect(fin.interrupted).toBe(false);
    expect(Number(fin.playedMs)).toBeGreaterThan(8_000);
    // Cold syllable bank (each new syllable decoded once per dataDir): still far less than the ~11 s prompt.
    // Streamed: audio started long before the whole prompt could have played out.
    expect(first).toBeLessThan(Number(fin.playedMs));
    // Same syllables again (bank warm), different digits so the prompt is not cached.
    const t1 = performance.now();
    const before = c.rx.frames.length;
    c.send({ type: 'say', promptId: 'long2', text: text.replace('八八六四', '六四八八') });
    await c.waitFor((e) => e.type === 'prompt_started' && e.promptId === 'long2', 20_000);
    while (c.rx.frames.length === before) await new Promise((r) => setTimeout(r, 1));
    const warm = c.rx.frames[before].at - t1;
    process.stdout.write(`[say-ttfa] long free text (${fin.playedMs} ms of audio): first audio ${first.toFixed(0)} ms with a cold syllable bank, ${warm.toFixed(0)} ms warm\n`);
    // Streamed, so the first audio of an ~11 s prompt does not wait for its synthesis: bounded, cold and warm.
    expect(first).toBeLessThan(3000);
    expect(warm).toBeLessThan(500);
    await c.hangup();
  }, 90_000);

  it.concurrent('marketing: free text is unapproved_text; the script line is allowed; the consent-gated line is refused without consent', async () => {
    const plain = await open({ callType: 'marketing', callee: '+8613900000001' });
    plain.send({ type: 'say', promptId: 'x', text: '恭喜您获得大奖' });
    const e = await plain.waitFor('error');
    expect(e.code).toBe('unapproved_text');
    // Audio cannot be checked against approved wording: play is refused too, inline or by recorded-prompt id.
    plain.send({ type: 'play', promptId: 'raw', audio: Buffer.alloc(3200).toString('base64') });
    expect((await plain.waitFor((ev) => ev.type === 'error' && ev.code === 'unapproved_audio')).message).toMatch(/rawAudioCallTypes/);
    plain.send({ type: 'play', promptId: 'some-recording' });
    await until(() => plain.events('error').filter((ev) => ev.code === 'unapproved_audio').length === 2, 5000, 'second unapproved_audio');
    expect(plain.rx.frames.length).toBe(0);
    await plain.hangup();

    const c = await open({ callType: 'marketing', callee: '+8613900000002', script: 'e2e-sales@1', slots: { name: '李女士' } });
    await c.waitFor((ev) => ev.type === 'script_node' && ev.node === 'ask');
    c.send({ type: 'say', promptId: 'p', text: '这是我们的优惠。' });
    const gated = await c.waitFor('error');
    expect(gated.code).toBe('consent_required');
    c.send({ type: 'say', promptId: 'free', text: '随便说点什么' });
    expect((await c.waitFor((ev) => ev.type === 'error' && ev.code === 'unapproved_text')).code).toBe('unapproved_text');
    // An approved line (rendered with the call's slots) is fine.
    c.send({ type: 'say', promptId: 'g2', text: '您好李女士。' });
    await c.waitFor((ev) => ev.type === 'prompt_finished' && ev.promptId === 'g2');
    expect(c.events('prompt_started').some((ev) => ev.promptId === 'p')).toBe(false);
    await c.hangup();
  }, 60_000);

  it.concurrent('an unknown voice is an error naming the registered engines', async () => {
    const c = await open({ callType: 'notification' });
    c.send({ type: 'say', promptId: 'v', text: '你好', voice: 'nope' });
    const e = await c.waitFor('error');
    expect(e.code).toBe('unknown_voice');
    expect(String(e.message)).toMatch(/syllable|espeak/);
    await c.hangup();
  }, 30_000);
});
