// The Mandarin consent answers of ../shared/audio streamed at real time through the real gateway over WebSocket,
// with the real recogniser and the shipped settings: the natural voices (human and neural; where accuracy is
// measured) and the espeak-ng stress set, at 16 kHz pcm16 and as 8 kHz μ-law twins. English items need an English
// recogniser, which is not available here.
//
// What must hold: no false `granted` anywhere (a refusal, 不可以, a question, 可以吗？ never consent); per set, rate and
// class (granted, refused and unclear) at least the correct decisions measured with the shipped settings less one
// item on natural voices (so losing a single answer fails), less two on the stress set (whose live cuts vary more
// from run to run); every decision of every outcome in the evidence store with its audio; the chain intact.
// Decision time is measured by the eval (`earshot eval consent`), not asserted here.
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLASSES, consentItems, type ConsentSet, type Expected, type Rate } from '../bench/consent/corpus.js';
import { pct } from '../bench/consent/folds.js';
import { runLive, type LiveOutcome } from '../bench/consent/live.js';
import type { Gateway } from '../gateway/Gateway.js';
import { AUDIO_DIR } from './helpers/corpus.js';
import { startGateway } from './helpers/gateway.js';

/**
 * Correct decisions per set, rate and class: the fewest of the measured runs with the shipped settings (README,
 * consent: `earshot eval consent` and this test), less one item on natural voices and two on the stress set, and never
 * below the floors of the settings shipped before (greedy search: natural 48/36/24 and 48/34/24, espeak 10/14/14 and
 * 5/11/14).
 */
const FLOORS: Record<ConsentSet, Record<Rate, Record<Expected, number>>> = {
  natural: { '16k': { granted: 53, refused: 38, unclear: 24 }, '8k': { granted: 48, refused: 37, unclear: 24 } },
  espeak: { '16k': { granted: 11, refused: 16, unclear: 14 }, '8k': { granted: 7, refused: 15, unclear: 14 } },
};

const items = consentItems(AUDIO_DIR);
let gw: Gateway;
let http: string;
let outcomes: LiveOutcome[] = [];

beforeAll(async () => {
  let url: string;
  ({ gw, url, http } = await startGateway());
  expect(gw.commands.expectConsent, 'consent feature must be active (recogniser model present)').toBeDefined();
  const jobs = items.flatMap((item) => (['16k', '8k'] as const).map((rate) => ({ item, rate })));
  outcomes = await runLive(jobs, { url, dir: AUDIO_DIR, concurrency: 24, staggerMs: 2000 });
  for (const set of ['natural', 'espeak'] as const) {
    for (const rate of ['16k', '8k'] as const) {
      const mine = outcomes.filter((o) => o.item.set === set && o.rate === rate);
      const m: Record<string, Record<string, number>> = {};
      for (const o of mine) {
        const row = (m[o.item.expected] ??= {});
        row[o.decision] = (row[o.decision] ?? 0) + 1;
      }
      const lat = mine.filter((o) => o.latencyMs !== null).map((o) => o.latencyMs!);
      console.log(`${set} ${rate}: n=${mine.length} expected→decided ${JSON.stringify(m)} after speech end p50 ${pct(lat, 50)} / p95 ${pct(lat, 95)} ms`);
    }
  }
}, 600_000);

afterAll(async () => {
  await gw?.stop(0);
});

const subset = (set: ConsentSet, rate: Rate, cls?: Expected) => outcomes.filter((o) => o.item.set === set && o.rate === rate && (!cls || o.item.expected === cls));
const misses = (os: LiveOutcome[]) => os.filter((o) => o.decision !== o.item.expected).map((o) => `${o.item.label.file} "${o.item.label.text}" → ${o.decision} ("${o.transcript}": ${o.reason})`);

describe.each(['16k', '8k'] as const)('consent at %s', (rate) => {
  it('never decides granted on a refused or unclear answer, natural or synthetic', () => {
    const falseGrants = outcomes
      .filter((o) => o.rate === rate && o.item.expected !== 'granted' && o.decision === 'granted')
      .map((o) => `${o.item.label.file} "${o.item.label.text}" heard "${o.transcript}"`);
    expect(outcomes.filter((o) => o.rate === rate && o.item.expected !== 'granted').length).toBeGreaterThan(0);
    expect(falseGrants).toEqual([]);
  });

  for (const set of ['natural', 'espeak'] as const) {
    for (const cls of CLASSES) {
      it(`decides ${set} ${cls} answers right at least as often as measured, less ${set === 'natural' ? 'one item' : 'two'}`, () => {
        const mine = subset(set, rate, cls);
        expect(mine.length).toBe(items.filter((i) => i.set === set && i.expected === cls).length);
        const right = mine.filter((o) => o.decision === cls).length;
        expect(right, misses(mine).join('\n')).toBeGreaterThanOrEqual(FLOORS[set][rate][cls]);
      });
    }
  }
});

it('records every decision, of every outcome, as evidence with its audio', async () => {
  const decided = outcomes.filter((o) => o.decision !== 'none');
  expect(new Set(decided.map((o) => o.decision))).toEqual(new Set(['granted', 'refused', 'unclear']));
  for (const o of decided) {
    expect(o.evidenceId, `${o.callId} has no evidence id`).toBeTruthy();
    const list = (await (await fetch(`${http}/v1/calls/${o.callId}/evidence`)).json()) as { evidence: { id: string; decision: string; audioSha256: string | null }[] };
    expect(list.evidence.map((e) => e.id), o.callId).toEqual([o.evidenceId]);
    const rec = list.evidence[0]!;
    expect(rec.decision).toBe(o.decision);
    const wav = Buffer.from(await (await fetch(`${http}/v1/evidence/${o.evidenceId}/audio`)).arrayBuffer());
    expect(wav.subarray(0, 4).toString()).toBe('RIFF');
    expect(createHash('sha256').update(wav).digest('hex')).toBe(rec.audioSha256);
  }
}, 120_000);

it('keeps the evidence chain intact after all decisions', async () => {
  const { EvidenceStore } = await import('../gateway/evidence/index.js');
  const v = EvidenceStore.open({ dataDir: gw.config.dataDir }).verify();
  expect(v.ok).toBe(true);
  expect(v.checked).toBeGreaterThanOrEqual(outcomes.filter((o) => o.evidenceId).length);
});
