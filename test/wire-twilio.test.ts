// Twilio Media Streams wire, end to end: a WebSocket client speaking Twilio's JSON exactly as Twilio's docs show it
// (connected, start with customParameters, media with sequenceNumber/chunk/timestamp, mark echoes, stop), the
// prompt played through the HTTP control API, events observed over the SSE endpoint.
import { request } from 'node:http';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encode } from '../gateway/audio/codec.js';
import type { Gateway } from '../gateway/Gateway.js';
import { twilioSignature } from '../gateway/wires/twilio.js';
import { TestCall } from './helpers/client.js';
import { labels, wireAudio } from './helpers/corpus.js';
import { startGateway } from './helpers/gateway.js';

const TOKEN = 'wire-test-token';
const TWILIO_AUTH = 'twilio-auth-token';
let gw: Gateway;
let http: string;
let wsBase: string;

type Ev = Record<string, unknown> & { type: string; t: number; at: number };

/** Follows GET /v1/calls/:id/events; resolves `done` at the end of the stream. */
function sse(callId: string): { events: Ev[]; done: Promise<void>; waitFor: (type: string, ms?: number) => Promise<Ev> } {
  const events: Ev[] = [];
  let waiters: { type: string; resolve: (e: Ev) => void }[] = [];
  const done = new Promise<void>((resolve, reject) => {
    const req = request(`${http}/v1/calls/${callId}/events`, { headers: { authorization: `Bearer ${TOKEN}` } }, (res) => {
      if (res.statusCode !== 200) return reject(new Error(`SSE status ${res.statusCode}`));
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        buf += d;
        let i;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const data = block.split('\n').find((l) => l.startsWith('data: '));
          if (!data) continue;
          const ev = { ...JSON.parse(data.slice(6)), at: performance.now() } as Ev;
          events.push(ev);
          waiters = waiters.filter((w) => (w.type === ev.type ? (w.resolve(ev), false) : true));
        }
      });
      res.on('end', () => resolve());
    });
    req.on('error', reject);
    req.end();
  });
  const waitFor = (type: string, ms = 15000) =>
    events.find((e) => e.type === type)
      ? Promise.resolve(events.find((e) => e.type === type)!)
      : new Promise<Ev>((resolve, reject) => {
          const t = setTimeout(() => reject(new Error(`no ${type}; got ${events.map((e) => e.type).join(',')}`)), ms);
          waiters.push({ type, resolve: (e) => (clearTimeout(t), resolve(e)) });
        });
  return { events, done, waitFor };
}

async function post(path: string, body: unknown, token = TOKEN): Promise<{ status: number; body: Record<string, unknown> }> {
  const r = await fetch(`${http}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify(body) });
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
}

async function callExists(id: string, ms = 5000): Promise<void> {
  const until = Date.now() + ms;
  while (!gw.calls.has(id)) {
    if (Date.now() > until) throw new Error(`call ${id} never started`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Plays Twilio's part: sends its messages, keeps a far-end playout buffer, echoes marks when their audio has played. */
class FakeTwilio {
  readonly ws: WebSocket;
  readonly streamSid: string;
  private seq = 0;
  readonly media: { at: number }[] = [];
  readonly clears: number[] = [];
  readonly marksIn: string[] = [];
  private playEnd = 0;
  private pendingMarks: { name: string; timer: NodeJS.Timeout }[] = [];
  private firstMedia?: () => void;
  closed: Promise<{ code: number; reason: string }>;

  constructor(readonly callSid: string, headers: Record<string, string> = {}) {
    this.streamSid = `MZ${callSid.slice(2)}`;
    this.ws = new WebSocket(`${wsBase}/v1/twilio`, { headers });
    this.closed = new Promise((resolve) => this.ws.on('close', (code, reason) => resolve({ code, reason: String(reason) })));
    this.ws.on('message', (data) => {
      const m = JSON.parse(String(data)) as { event: string; media?: { payload: string }; mark?: { name: string } };
      const now = performance.now();
      if (m.event === 'media') {
        this.media.push({ at: now });
        this.playEnd = Math.max(now, this.playEnd) + 20;
        if (this.media.length === 1) this.firstMedia?.();
      } else if (m.event === 'clear') {
        this.clears.push(now);
        this.playEnd = now;
        // A clear drops the buffered audio and echoes its pending marks at once.
        for (const p of this.pendingMarks.splice(0)) {
          clearTimeout(p.timer);
          this.echo(p.name);
        }
      } else if (m.event === 'mark') {
        const name = m.mark!.name;
        this.marksIn.push(name);
        const p = { name, timer: setTimeout(() => (this.pendingMarks = this.pendingMarks.filter((x) => x !== p), this.echo(name)), Math.max(0, this.playEnd - now)) };
        this.pendingMarks.push(p);
      }
    });
  }

  firstFrame(): Promise<void> {
    return this.media.length ? Promise.resolve() : new Promise((r) => (this.firstMedia = r));
  }

  async open(): Promise<void> {
    if (this.ws.readyState === WebSocket.OPEN) return;
    await new Promise<void>((resolve, reject) => (this.ws.once('open', () => resolve()), this.ws.once('error', reject)));
  }

  send(obj: unknown): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(typeof obj === 'string' ? obj : JSON.stringify(obj));
  }

  private echo(name: string): void {
    this.send({ event: 'mark', sequenceNumber: String(++this.seq), streamSid: this.streamSid, mark: { name } });
  }

  async start(customParameters: Record<string, string>): Promise<void> {
    await this.open();
    this.send({ event: 'connected', protocol: 'Call', version: '1.0.0' });
    this.send({
      event: 'start',
      sequenceNumber: String(++this.seq),
      start: {
        accountSid: 'AC00000000000000000000000000000000',
        streamSid: this.streamSid,
        callSid: this.callSid,
        tracks: ['inbound'],
        mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 },
        customParameters,
      },
      streamSid: this.streamSid,
    });
  }

  mediaMsg(payload: string, chunk: number): Record<string, unknown> {
    return { event: 'media', sequenceNumber: String(++this.seq), media: { track: 'inbound', chunk: String(chunk), timestamp: String(chunk * 20), payload }, streamSid: this.streamSid };
  }

  /** μ-law 8 kHz in 20 ms media messages at real time. */
  async stream(samples: Int16Array): Promise<void> {
    const t0 = performance.now();
    for (let i = 0, k = 0; i < samples.length; i += 160, k++) {
      if (this.ws.readyState !== WebSocket.OPEN) return;
      this.send(this.mediaMsg(Buffer.from(encode('mulaw', samples.subarray(i, i + 160))).toString('base64'), k + 1));
      const wait = t0 + (k + 1) * 20 - performance.now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    }
  }

  stop(): void {
    this.send({ event: 'stop', sequenceNumber: String(++this.seq), streamSid: this.streamSid, stop: { accountSid: 'AC0', callSid: this.callSid } });
  }
}

const bargeScenarios = labels().filter((l) => l.file === 'bargein/s01_caller.wav' || l.file === 'bargein/s06_caller.wav');
const results: { file: string; onset: number; pauseT: number; commitT: number; stopMs: number; clearAfterCommitMs: number; mediaAfterClear: number; heard: Ev | undefined; playedMs: number }[] = [];

beforeAll(async () => {
  const g = await startGateway({ asr: { model: '' }, apiToken: TOKEN, wires: { twilioAuthToken: TWILIO_AUTH } });
  gw = g.gw;
  http = g.http;
  wsBase = g.http.replace('http:', 'ws:');
}, 60_000);

afterAll(async () => {
  await gw?.stop(0);
});

describe('twilio wire', () => {
  it('barge-in over Twilio media: pause within 150 ms of onset, a clear, marks give prompt_heard', async () => {
    await Promise.all(
      bargeScenarios.map(async (l, i) => {
        await new Promise((r) => setTimeout(r, i * 40));
        const callSid = `CA${l.file.slice(9, 12)}twilio`;
        const t = new FakeTwilio(callSid);
        await t.start({ token: TOKEN, language: 'zh', callType: 'notification' });
        await callExists(callSid);
        const s = sse(callSid);
        await new Promise((r) => setTimeout(r, 50));
        const prompt = wireAudio(l.promptTwin8k!);
        const caller = wireAudio(l.twin8k);
        const r = await post(`/v1/calls/${callSid}/play`, { promptId: 'p', audio: Buffer.from(encode('mulaw', prompt.samples)).toString('base64') });
        expect(r.status).toBe(202);
        await t.firstFrame();
        await t.stream(caller.samples);
        const barge = await s.waitFor('barge_in', 3000);
        const heard = await s.waitFor('prompt_heard', 3000).catch(() => undefined);
        t.stop();
        const summary = await s.waitFor('call_summary');
        await s.done;
        const pause = s.events.find((e) => e.type === 'prompt_paused')!;
        const clearAt = t.clears[0];
        const b = (summary.bargeIns as { stopMs: number }[])[0];
        results.push({
          file: l.file,
          onset: l.speechOnsetMs!,
          pauseT: pause.t,
          commitT: barge.t,
          stopMs: b?.stopMs ?? NaN,
          clearAfterCommitMs: clearAt === undefined ? NaN : clearAt - barge.at,
          mediaAfterClear: t.media.filter((m) => m.at > clearAt).length,
          heard,
          playedMs: barge.playedMs as number,
        });
        expect((await t.closed).code).toBe(1000);
      }),
    );
    console.table(results.map((r) => ({ ...r, heard: r.heard ? `${r.heard.heardMs} ms complete=${r.heard.complete}` : null, pauseLatency: r.pauseT - r.onset, commitLatency: r.commitT - r.onset })));
    for (const r of results) {
      expect(r.pauseT - r.onset, r.file).toBeLessThanOrEqual(150);
      expect(r.clearAfterCommitMs, `${r.file}: clear arrives`).not.toBeNaN();
      expect(r.mediaAfterClear, `${r.file}: no prompt audio after clear`).toBe(0);
      expect(r.heard, `${r.file}: prompt_heard`).toBeDefined();
      expect(r.heard!.complete).toBe(false);
      // Heard by marks: no more than the playout clock said was played, and within 100 ms + mark spacing of it.
      expect(r.heard!.heardMs as number).toBeLessThanOrEqual(r.playedMs + 40);
      expect(r.heard!.heardMs as number).toBeGreaterThan(r.playedMs - 300);
    }
  }, 60_000);

  it('a completed prompt is reported heard in full from the final mark', async () => {
    const t = new FakeTwilio('CAcomplete');
    await t.start({ token: TOKEN, callType: 'notification' });
    await callExists('CAcomplete');
    const s = sse('CAcomplete');
    const prompt = new Int16Array(8000 * 0.5); // 500 ms of silence
    expect((await post('/v1/calls/CAcomplete/play', { promptId: 'short', audio: Buffer.from(encode('mulaw', prompt)).toString('base64') })).status).toBe(202);
    await t.firstFrame();
    const streaming = t.stream(new Int16Array(8000 * 1.2));
    const heard = await s.waitFor('prompt_heard', 5000);
    expect(heard).toMatchObject({ promptId: 'short', heardMs: 500, complete: true });
    await streaming;
    t.stop();
    await s.done;
  }, 20_000);

  it('a stop while a hangup is ending the call keeps the call registered until its summary is out', async () => {
    const t = new FakeTwilio('CAhangstop');
    await t.start({ token: TOKEN, callType: 'notification' });
    await callExists('CAhangstop');
    const call = gw.calls.get('CAhangstop')!;
    // A listener that takes a while to close (a recogniser flushing, say) holds the call in its ending state.
    call.addListener({ close: () => new Promise((r) => setTimeout(r, 300)) });
    // Whether the old call still held its callId when it announced its end.
    const registeredAtSummary = new Promise<boolean>((r) => call.observe((e) => e.type === 'call_summary' && r(gw.calls.has('CAhangstop'))));
    // What a platform does: hang up through the control API, and Twilio's own stop follows right behind.
    expect((await post('/v1/calls/CAhangstop/hangup', {})).status).toBe(202);
    t.stop();
    expect(await registeredAtSummary).toBe(true);
    expect((await t.closed).code).toBe(1000);
    expect(gw.calls.has('CAhangstop')).toBe(false);
  }, 20_000);

  it('media that arrives while the call is being admitted is kept: the inbound timeline starts with the stream', async () => {
    // A slow admission (a policy database under load) for this one call.
    const slow = { name: 'slow-admission', admit: async (m: { callId: string }) => (m.callId === 'CAearly' && (await new Promise((r) => setTimeout(r, 300))), { ok: true as const }) };
    gw.plugins.unshift(slow as never);
    try {
      const t = new FakeTwilio('CAearly');
      await t.start({ token: TOKEN, callType: 'notification' });
      await t.stream(new Int16Array(8000 * 0.6)); // 600 ms from the moment of `start`
      await callExists('CAearly');
      const call = gw.calls.get('CAearly')!;
      await new Promise((r) => setTimeout(r, 100));
      // All 600 ms are on the call's timeline, not just what came after the 300 ms admission.
      expect(call.t).toBe(600);
      t.stop();
      await t.closed;
    } finally {
      gw.plugins.splice(gw.plugins.indexOf(slow as never), 1);
    }
  }, 20_000);

  it('authenticates with X-Twilio-Signature or the token parameter, and refuses neither', async () => {
    const host = new URL(http).host;
    const sig = twilioSignature(TWILIO_AUTH, `wss://${host}/v1/twilio`);
    const signed = new FakeTwilio('CAsigned', { 'X-Twilio-Signature': sig });
    await signed.start({ callType: 'notification' });
    await callExists('CAsigned');
    const bad = new FakeTwilio('CAbadsig', { 'X-Twilio-Signature': twilioSignature('wrong', `wss://${host}/v1/twilio`) });
    await bad.start({ token: 'nope' });
    expect(await bad.closed).toMatchObject({ code: 4401 });
    expect(gw.calls.has('CAbadsig')).toBe(false);
    signed.stop();
    expect((await signed.closed).code).toBe(1000);
  });

  it('bad input ends only that stream, with a close code that says why; a concurrent call continues', async () => {
    const good = new FakeTwilio('CAgood');
    await good.start({ token: TOKEN, callId: 'good-call', callType: 'notification' });
    await callExists('good-call');
    const goodStream = good.stream(new Int16Array(8000 * 3));

    const malformed = new FakeTwilio('CAmalformed');
    await malformed.start({ token: TOKEN, callType: 'notification' });
    await callExists('CAmalformed');
    malformed.send('{"event":"media",');
    expect(await malformed.closed).toMatchObject({ code: 4400, reason: 'malformed_json' });

    const b64 = new FakeTwilio('CAbase64');
    await b64.start({ token: TOKEN, callType: 'notification' });
    await callExists('CAbase64');
    b64.send(b64.mediaMsg('!!not*base64', 1));
    expect(await b64.closed).toMatchObject({ code: 4400, reason: 'bad_base64' });

    const unknown = new FakeTwilio('CAunknown');
    await unknown.start({ token: TOKEN, callType: 'notification' });
    await callExists('CAunknown');
    unknown.send({ ...unknown.mediaMsg(Buffer.alloc(160, 0xff).toString('base64'), 1), streamSid: 'MZsomeoneelse' });
    expect(await unknown.closed).toMatchObject({ code: 4404, reason: 'unknown_stream' });

    const early = new FakeTwilio('CAearly');
    await early.open();
    early.send(early.mediaMsg(Buffer.alloc(160, 0xff).toString('base64'), 1));
    expect((await early.closed).code).toBe(4400);

    // Out-of-order and missing sequence numbers are counted, not fatal.
    const seq = new FakeTwilio('CAseq');
    await seq.start({ token: TOKEN, callType: 'notification' });
    await callExists('CAseq');
    const payload = Buffer.alloc(160, 0xff).toString('base64');
    seq.send({ event: 'media', sequenceNumber: '10', streamSid: seq.streamSid, media: { track: 'inbound', chunk: '1', timestamp: '0', payload } });
    seq.send({ event: 'media', sequenceNumber: '5', streamSid: seq.streamSid, media: { track: 'inbound', chunk: '2', timestamp: '20', payload } });
    seq.send({ event: 'media', streamSid: seq.streamSid, media: { track: 'inbound', chunk: '3', timestamp: '40', payload } });
    await new Promise((r) => setTimeout(r, 100));
    expect(gw.calls.get('CAseq')?.isEnded).toBe(false);
    seq.stop();
    await seq.closed;

    expect(gw.calls.has('good-call')).toBe(true);
    await goodStream;
    expect(gw.calls.get('good-call')!.t).toBeGreaterThanOrEqual(2900);
    good.stop();
    expect((await good.closed).code).toBe(1000);
  }, 20_000);

  it('decides a natural consent item the same as the native wire', async () => {
    const item = labels().find((l) => l.file.startsWith('natural/') && l.expected === 'granted')!;
    // This gateway runs without a recogniser: use one with the configured ASR for the parity check.
    const g2 = await startGateway({ apiToken: TOKEN });
    try {
      expect(g2.gw.commands.expectConsent, 'the recogniser model must be available (../shared/models)').toBeDefined();
      const audio = wireAudio(item.twin8k);
      const pad = new Int16Array(8000 * 3);
      // native
      const n = new TestCall(g2.url, { authorization: `Bearer ${TOKEN}` });
      await n.start({ callId: 'consent-native', encoding: 'mulaw', sampleRate: 8000 });
      n.send({ type: 'expect_consent', promptId: 'q' });
      await n.stream(audio.samples, 'mulaw', 8000);
      const nDecided = n.waitFor('consent', 8000).catch(() => null);
      await n.stream(pad, 'mulaw', 8000);
      const native = await nDecided;
      n.close();
      // twilio
      const savedHttp = http;
      const savedWs = wsBase;
      http = g2.http;
      wsBase = g2.http.replace('http:', 'ws:');
      try {
        const t = new FakeTwilio('CAconsent');
        await t.start({ token: TOKEN, callType: 'notification' });
        const until = Date.now() + 5000;
        while (!g2.gw.calls.has('CAconsent') && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
        const s = sse('CAconsent');
        expect((await post('/v1/calls/CAconsent/expect_consent', { promptId: 'q' })).status).toBe(202);
        await t.stream(audio.samples);
        const tDecided = s.waitFor('consent', 8000).catch(() => null);
        await t.stream(pad);
        const twilio = await tDecided;
        t.stop();
        // Both wires must decide, and decide what the label says: two nulls (neither decided) are not parity.
        expect(native, 'the native wire decided').not.toBeNull();
        expect(twilio, 'the Twilio wire decided').not.toBeNull();
        expect(native!.decision).toBe(item.expected);
        expect(twilio!.decision).toBe(native!.decision);
      } finally {
        http = savedHttp;
        wsBase = savedWs;
      }
    } finally {
      await g2.gw.stop(0);
    }
  }, 60_000);
});
