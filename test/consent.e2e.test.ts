// The consent items of ../shared/audio streamed at real time through the real gateway over WebSocket, with the
// real Mandarin recogniser: human and neural voices (natural/) and the espeak-ng stress set (consent/), at 16 kHz
// pcm16 and as 8 kHz μ-law twins. English items need an English recogniser, which is not available here.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Encoding } from '../gateway/audio/codec.js';
import type { Gateway } from '../gateway/Gateway.js';
import { TestCall } from './helpers/client.js';
import { labels, wireAudio, type Label } from './helpers/corpus.js';
import { startGateway } from './helpers/gateway.js';

interface Outcome {
  label: Label;
  set: 'natural' | 'consent';
  rate: '16k' | '8k';
  decision: string | null;
  latencyMs: number | null;
  evidenceId: string | null;
  transcript: string;
}

const items = labels().filter((l) => l.kind === 'consent' && l.lang === 'zh');
const CONCURRENCY = 24;
let gw: Gateway;
let url: string;
let http: string;
const outcomes: Outcome[] = [];

async function run(label: Label, rate: '16k' | '8k', audio: ReturnType<typeof wireAudio>, n: number): Promise<Outcome> {
  const enc: Encoding = rate === '16k' ? 'pcm16' : 'mulaw';
  const c = new TestCall(url);
  const ready = await c.start({ callId: `consent-${n}-${rate}`, encoding: enc, sampleRate: audio.sampleRate });
  expect(ready.type).toBe('ready');
  c.send({ type: 'expect_consent', promptId: 'may-we-continue' });
  await c.stream(audio.samples, enc, audio.sampleRate, 1);
  // The line stays open after the answer: keep sending silence until the decision arrives.
  const silence = new Int16Array(audio.sampleRate * 3);
  const decided = c.waitFor('consent', 8000).catch(() => null);
  const filler = c.stream(silence, enc, audio.sampleRate, 1);
  const ev = await decided;
  c.close();
  await filler.catch(() => undefined);
  return {
    label,
    set: label.file.startsWith('natural/') ? 'natural' : 'consent',
    rate,
    decision: ev ? String(ev.decision) : null,
    latencyMs: ev ? (ev.t as number) - label.speechEndMs! : null,
    evidenceId: ev ? (ev.evidenceId as string) : null,
    transcript: ev ? String(ev.transcript) : '',
  };
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
}

beforeAll(async () => {
  ({ gw, url, http } = await startGateway());
  expect(gw.commands.expectConsent, 'consent feature must be active (recogniser model present)').toBeDefined();
  const jobs = items.flatMap((l) => (['16k', '8k'] as const).map((rate) => ({ l, rate, audio: wireAudio(rate === '16k' ? l.file : l.twin8k) })));
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const i = next++;
      const j = jobs[i];
      outcomes.push(await run(j.l, j.rate, j.audio, i));
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  if (process.env.EARSHOT_DUMP) {
    const { writeFileSync } = await import('node:fs');
    writeFileSync(process.env.EARSHOT_DUMP, JSON.stringify(outcomes.map((o) => ({ ...o, label: { file: o.label.file, text: o.label.text, expected: o.label.expected, end: o.label.speechEndMs } }))));
  }
  for (const set of ['natural', 'consent'] as const) {
    for (const rate of ['16k', '8k'] as const) {
      const mine = outcomes.filter((o) => o.set === set && o.rate === rate);
      const m: Record<string, Record<string, number>> = {};
      for (const o of mine) {
        const row = (m[o.label.expected!] ??= {});
        row[o.decision ?? 'none'] = (row[o.decision ?? 'none'] ?? 0) + 1;
      }
      const lat = mine.filter((o) => o.latencyMs !== null).map((o) => o.latencyMs!);
      console.log(`${set} ${rate}: n=${mine.length} confusion(expected→decided)=${JSON.stringify(m)} latency p50=${pct(lat, 50)} p95=${pct(lat, 95)}`);
    }
  }
}, 600_000);

afterAll(async () => {
  await gw?.stop(0);
});

const subset = (set: string, rate: string) => outcomes.filter((o) => o.set === set && o.rate === rate);

describe.each(['16k', '8k'] as const)('consent at %s', (rate) => {
  it('never decides granted on a refused or unclear item (natural and synthetic)', () => {
    const falseGrants = outcomes
      .filter((o) => o.rate === rate && o.label.expected !== 'granted' && o.decision === 'granted')
      .map((o) => `${o.label.file} "${o.label.text}" heard "${o.transcript}"`);
    expect(falseGrants).toEqual([]);
  });

  it('decides at least 85 % of natural granted and refused items correctly', () => {
    for (const cls of ['granted', 'refused']) {
      const mine = subset('natural', rate).filter((o) => o.label.expected === cls);
      const ok = mine.filter((o) => o.decision === cls).length / mine.length;
      expect(ok, `${cls}: ${mine.filter((o) => o.decision !== cls).map((o) => `${o.label.text}→${o.decision}(${o.transcript})`).join('; ')}`).toBeGreaterThanOrEqual(0.85);
    }
  });

  it('decides within 500 ms of the labelled speech end for 95 % of items', () => {
    const mine = outcomes.filter((o) => o.rate === rate);
    const within = mine.filter((o) => o.latencyMs !== null && o.latencyMs <= 500).length / mine.length;
    expect(within).toBeGreaterThanOrEqual(0.95);
  });

  it('records every decision as verifiable evidence with its audio', async () => {
    const o = subset('natural', rate).find((x) => x.decision === 'granted')!;
    expect(o.evidenceId).toBeTruthy();
    const rec = (await (await fetch(`${http}/v1/evidence/${o.evidenceId}`)).json()) as { decision: string; audioSha256: string };
    expect(rec.decision).toBe('granted');
    const wav = Buffer.from(await (await fetch(`${http}/v1/evidence/${o.evidenceId}/audio`)).arrayBuffer());
    expect(wav.subarray(0, 4).toString()).toBe('RIFF');
    const { createHash } = await import('node:crypto');
    expect(createHash('sha256').update(wav).digest('hex')).toBe(rec.audioSha256);
  });
});

it('keeps the evidence chain intact after all decisions', async () => {
  const { EvidenceStore } = await import('../gateway/evidence/index.js');
  const v = EvidenceStore.open({ dataDir: gw.config.dataDir }).verify();
  expect(v.ok).toBe(true);
  expect(v.checked).toBeGreaterThanOrEqual(outcomes.filter((o) => o.evidenceId).length);
});
