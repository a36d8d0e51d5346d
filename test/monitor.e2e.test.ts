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

  it('watches three live calls at once on one page: each one’s barge-in on its card within 1 s, each one’s frames plotted, and a slot follows the next call', async () => {
    // A second page, as a supervisor's watch wall: one list stream and one watch stream for all its calls.
    const wall = await browser.newPage();
    const problems: string[] = [];
    wall.on('pageerror', (e) => problems.push(e.message));
    wall.on('console', (m) => m.type() === 'error' && problems.push(m.text()));
    await wall.goto(`${http}/ui?token=${TOKEN}`);
    await wall.waitForFunction(() => document.getElementById('status')?.textContent === 'live', undefined, { timeout: 10_000 });
    const ids = ['watch-a', 'watch-b', 'watch-c'];
    const files = ['bargein/s02_caller.wav', 'bargein/s03_caller.wav', 'bargein/s04_caller.wav'];
    const calls = await Promise.all(ids.map(async (callId, i) => {
      const label = scenario(files[i]);
      const caller = wireAudio(label.file);
      const prompt = wireAudio(label.promptFile!);
      const c = new TestCall(wsUrl);
      expect((await c.start({ callId, encoding: 'pcm16', sampleRate: caller.sampleRate })).type).toBe('ready');
      return { callId, c, caller, prompt };
    }));
    // The operator clicks each row's Watch button; each call gets a card.
    for (const { callId } of calls) {
      await wall.locator(`tr.call[data-call-id="${callId}"] button[data-action="watch"]`).click({ timeout: 3000 });
      await wall.locator(`.card[data-call-id="${callId}"]`).waitFor({ timeout: 2000 });
    }
    expect(await wall.evaluate(() => (window as unknown as { earshotMonitor: { watched: () => { callId: string; ended: boolean }[] } }).earshotMonitor.watched().map((w) => w.callId))).toEqual(ids);
    await wall.locator('tr.call[data-call-id="watch-a"] button[data-action="watch"]', { hasText: 'Unwatch' }).waitFor({ timeout: 1000 }); // the row says so (next frame)

    // All three barge in at once; each card shows its own call's barge-in within 1 s of that caller getting it.
    await Promise.all(calls.map(async ({ callId, c, caller, prompt }) => {
      c.send({ type: 'play', promptId: 'greeting', audio: b64('pcm16', prompt.samples), interruptible: true });
      await c.firstFrame();
      const bargeIn = c.waitFor('barge_in', 30_000).then(() => Date.now());
      const streamed = c.stream(caller.samples, 'pcm16', caller.sampleRate, 1);
      const callerSawAt = await bargeIn;
      const item = wall.locator(`.card[data-call-id="${callId}"] li[data-type="barge_in"]`);
      await item.waitFor({ timeout: 1000 });
      const shownAt = Number(await item.getAttribute('data-at'));
      expect(shownAt - callerSawAt, `${callId}: barge-in on its card after the caller got it, ms`).toBeLessThanOrEqual(1000);
      await streamed;
      // Each card's plot got its own call's frames (31 a second of streamed audio; the last batch within 384 ms).
      const want = ((caller.samples.length / caller.sampleRate) * 1000 / 32) * 0.8;
      await wall.waitForFunction(([id, n]) => Number(document.querySelector(`.card[data-call-id="${id}"] canvas`)?.getAttribute('data-frames')) > n, [callId, want] as const, { timeout: 2000 });
    }));
    const views = await wall.evaluate(() => (window as unknown as { earshotMonitorStats: { views: { framesPlotted: number; eventsShown: number; callUpdates: number }[] } }).earshotMonitorStats.views);
    expect(views).toHaveLength(3);
    for (const v of views) expect(v.framesPlotted > 0 && v.eventsShown > 0 && v.callUpdates > 0, JSON.stringify(v)).toBe(true);
    mkdirSync(ARTIFACTS, { recursive: true });
    await wall.screenshot({ path: `${ARTIFACTS}/monitor-watch.png`, fullPage: true });

    // Following: three slots kept filled. A call that ends shows its end and says so; its slot takes the next live call.
    await wall.evaluate(() => {
      const w = window as unknown as { watchEnded: Promise<unknown>; earshotMonitor: { follow: (n: number) => number } };
      w.watchEnded = new Promise((r) => window.addEventListener('earshot:watch-ended', (e) => r((e as CustomEvent).detail.callId), { once: true }));
      w.earshotMonitor.follow(3);
    });
    const next = new TestCall(wsUrl);
    expect((await next.start({ callId: 'watch-d', encoding: 'pcm16', sampleRate: 16000 })).type).toBe('ready');
    await wall.locator('tr.call[data-call-id="watch-d"]').waitFor({ timeout: 2000 }); // listed (rows come once a second)
    const a = calls[0];
    await a.c.hangup();
    expect(await wall.evaluate(() => (window as unknown as { watchEnded: Promise<unknown> }).watchEnded)).toBe('watch-a');
    await wall.locator('.card[data-call-id="watch-d"]').waitFor({ timeout: 2000 });
    expect(await wall.locator('.card').count()).toBe(3);
    for (const { c } of calls.slice(1)) await c.hangup();
    await next.hangup();
    await wall.waitForFunction(() => document.querySelectorAll('.card.ended').length === 3, undefined, { timeout: 3000 });
    expect(await wall.locator('.card[data-call-id="watch-b"] li[data-type="call_summary"]').count()).toBe(1);
    expect(problems).toEqual([]);
    await wall.close();
  }, 90_000);
});
