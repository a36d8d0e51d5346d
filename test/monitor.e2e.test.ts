// The live monitor page in a real headless Chromium (Debian's chromium, driven by playwright-core) against a real
// gateway with a token: a real call (../shared/audio barge-in scenario, then a consent answer through the real
// recogniser) shows up in the list with its masked callee, its barge-in reaches the page's timeline within 1 s of
// reaching the caller, its VAD frames reach the live plot, the consent evidence audio plays and its record verifies,
// and the page's own buttons stop a prompt and hang up.
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../gateway/Gateway.js';
import { b64, TestCall } from './helpers/client.js';
import { wireAudio } from './helpers/corpus.js';
import { startGateway } from './helpers/gateway.js';
import { consentAnswer, scenario } from './helpers/realCall.js';

const TOKEN = 'monitor-test-token-0123456789';
const ARTIFACTS = 'test-artifacts';
let gw: Gateway;
let http: string;
let wsUrl: string;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  let url: string;
  ({ gw, url, http } = await startGateway({ apiToken: TOKEN }));
  wsUrl = `${url}?token=${TOKEN}`;
  const executablePath = execFileSync('sh', ['-c', 'command -v chromium || command -v chromium-browser'], { encoding: 'utf8' }).trim();
  browser = await chromium.launch({ executablePath, headless: true, args: ['--no-sandbox', '--autoplay-policy=no-user-gesture-required', '--mute-audio'] });
  page = await browser.newPage();
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(e.message));
  page.on('console', (m) => m.type() === 'error' && problems.push(m.text()));
  (globalThis as { monitorProblems?: string[] }).monitorProblems = problems;
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await gw?.stop(0);
});

describe('live monitor /ui', () => {
  it('needs the API token', async () => {
    expect((await fetch(`${http}/ui`)).status).toBe(401);
    expect((await fetch(`${http}/ui/stream`)).status).toBe(401);
    expect((await fetch(`${http}/ui?token=wrong`)).status).toBe(401);
  });

  it('shows a live call, its barge-in within 1 s, plays its consent evidence, and stops a prompt and hangs up', async () => {
    await page.goto(`${http}/ui?token=${TOKEN}`);
    await page.waitForFunction(() => document.getElementById('status')?.textContent === 'live', undefined, { timeout: 10_000 });
    expect(page.url()).not.toContain(TOKEN); // the token leaves the address bar

    const label = scenario('bargein/s01_caller.wav');
    const caller = wireAudio(label.file);
    const prompt = wireAudio(label.promptFile!);
    const c = new TestCall(wsUrl);
    expect((await c.start({ callId: 'monitor-call', encoding: 'pcm16', sampleRate: caller.sampleRate, callee: '+8613900139000' })).type).toBe('ready');
    const row = page.locator('tr.call[data-call-id="monitor-call"]');
    await row.waitFor({ timeout: 2000 });
    expect(await row.textContent()).toContain('+86•••••••9000');
    expect(await row.textContent()).not.toContain('13900139000');

    c.send({ type: 'play', promptId: 'greeting', audio: b64('pcm16', prompt.samples), interruptible: true });
    await c.firstFrame();
    const bargeIn = c.waitFor('barge_in', 30_000).then(() => Date.now());
    const streamed = c.stream(caller.samples, 'pcm16', caller.sampleRate, 1);
    const callerSawAt = await bargeIn;
    const item = page.locator('#timeline li[data-type="barge_in"]');
    await item.waitFor({ timeout: 1000 });
    const pageShowedAt = Number(await item.getAttribute('data-at'));
    expect(pageShowedAt - callerSawAt, 'barge-in on the page after the caller got it, ms').toBeLessThanOrEqual(1000);
    await streamed;
    // The live plot got the call's VAD frames while the page watched it (31 a second of streamed audio).
    const plotted = Number(await page.locator('#plot').getAttribute('data-frames'));
    expect(plotted).toBeGreaterThan(((caller.samples.length / caller.sampleRate) * 1000 / 32) * 0.8);
    expect(await row.locator('td').nth(7).textContent()).toMatch(/^\d+ ms$/); // barge-in latency against its budget
    expect(await row.locator('td').nth(7).getAttribute('class')).toMatch(/^(ok|over)$/);

    const consent = await consentAnswer(c, scenario('natural/001_audiocmn-YueTan_shi4.wav'));
    expect(consent.evidenceId).toEqual(expect.any(String));
    const audio = page.locator(`audio[data-evidence="${consent.evidenceId}"]`);
    await audio.waitFor({ timeout: 2000 });
    const played = await audio.evaluate(async (a: HTMLAudioElement) => {
      await a.play();
      await new Promise((r) => setTimeout(r, 300));
      return { duration: a.duration, currentTime: a.currentTime, error: a.error?.code ?? null };
    });
    expect(played.error).toBeNull();
    expect(played.duration).toBeGreaterThan(0.2);
    expect(played.currentTime).toBeGreaterThan(0);
    await page.locator('#evidence').filter({ hasText: consent.evidenceId as string }).waitFor({ timeout: 2000 });
    expect(await page.locator('#evidence [data-verified]').getAttribute('data-verified')).toBe('true');

    // The page's Stop prompt button: a long prompt is cut short by the operator.
    c.send({ type: 'play', promptId: 'long', audio: b64('pcm16', prompt.samples), interruptible: false });
    await c.waitFor((e) => e.type === 'prompt_started' && e.promptId === 'long', 5000);
    await row.locator('button[data-action="stop_prompt"]').click();
    const stopped = await c.waitFor((e) => e.type === 'prompt_finished' && e.promptId === 'long', 5000);
    expect(stopped.reason).toBe('stop_prompt');

    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: `${ARTIFACTS}/monitor.png`, fullPage: true });

    // The page says at once that its live view's call ended (what follows calls for an operator, e.g. the bench's
    // driver, moves on without waiting for the list's next update), and keeps showing that call.
    await page.evaluate(() => {
      const w = window as unknown as { liveEnded: Promise<unknown> };
      w.liveEnded = new Promise((r) => window.addEventListener('earshot:live-ended', (e) => r((e as CustomEvent).detail.callId), { once: true }));
    });
    await row.locator('button[data-action="hangup"]').click();
    const summary = await c.waitFor('call_summary', 5000);
    expect(summary.reason).toBe('hangup');
    expect(await page.evaluate(() => (window as unknown as { liveEnded: Promise<unknown> }).liveEnded)).toBe('monitor-call');
    await page.locator('#timeline li[data-type="call_summary"]').waitFor({ timeout: 1000 });
    await page.waitForFunction(() => document.querySelector('tr.call[data-call-id="monitor-call"]')?.classList.contains('ended'), undefined, { timeout: 2000 });
    expect(await row.textContent()).toContain('ended (hangup)');
    expect((globalThis as { monitorProblems?: string[] }).monitorProblems).toEqual([]);
  }, 90_000);
});
