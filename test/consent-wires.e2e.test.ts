// The consent items of the native e2e (test/consent.e2e.test.ts) through the six telephony wires of issue #16, each
// driven by its far-end fake (bench/wires/<platform>) as the platform documents it, with the real recogniser at
// 8 kHz: every item's decision must be the native wire's on the same item in the same run, and nothing but a
// granted answer may be granted.
//
// All items × six wires would be ~900 real-time calls; this runs a fixed subset instead, seven items per wire and
// 42 in all, each through its wire and through the native wire, all 84 calls at once (about 10 s under the lock):
//   * per wire, two granted, two refused and two unclear answers (a question — 谁, 什么, 你是谁 — or 嗯) from the
//     natural voices, a different speaker mix on each wire, so the six wires cover 36 distinct natural items;
//   * per wire, one stress item whose wrong reading would be a false grant: 可以吗？ and 是吗？ (questions), 不可以
//     (a refusal holding 可以). The espeak-ng set's live decisions vary more from run to run (the native e2e's floors
//     allow two misses on it), so these are held only to "not granted", not to the native decision.
// Live decisions on natural voices vary a little from run to run too (the native e2e allows one miss per set, rate
// and class; in one run here 没问题 came out unclear through Asterisk and granted through the native wire): an item
// whose decision differs is played once more through both, and the wire passes when one of its decisions is one of
// the native wire's. A wire that changes what the gateway hears decides differently both times.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asteriskWire } from '../bench/wires/asterisk.js';
import { exotelWire } from '../bench/wires/exotel.js';
import { freeswitchWire } from '../bench/wires/freeswitch.js';
import { jambonzWire } from '../bench/wires/jambonz.js';
import { plivoWire } from '../bench/wires/plivo.js';
import { telnyxWire } from '../bench/wires/telnyx.js';
import type { Wire } from '../bench/wires/types.js';
import { consentItems, type ConsentItem } from '../bench/consent/corpus.js';
import { runLive } from '../bench/consent/live.js';
import { encode } from '../gateway/audio/codec.js';
import type { Gateway } from '../gateway/Gateway.js';
import { AUDIO_DIR, wireAudio } from './helpers/corpus.js';
import { startGateway } from './helpers/gateway.js';
import { drive, params } from './helpers/platformCalls.js';
import { until } from './helpers/until.js';

const TOKEN = 'consent-wires-token';
/** Line silence after the answer before giving up on a decision (as the native e2e). */
const SILENCE_MS = 3000;

/** Per wire: granted ×2, refused ×2, unclear ×2 (natural voices), then one stress item held to "not granted". */
const SUBSET: Record<string, { wire: Wire; natural: string[]; stress: string }> = {
  jambonz: { wire: jambonzWire, natural: ['001_audiocmn-YueTan_shi4', '101_tts-supervocab_ke3_yi3', '012_audiocmn-YueTan_bu4', '182_vtuber-hiiro_wo3_bu4_tong2_yi4', '090_audiocmn-ChenWang_shei2', '119_tts-jaberfw_ng4'], stress: 'zh_049' },
  freeswitch: { wire: freeswitchWire, natural: ['004_audiocmn-YueTan_ke3_yi3', '114_tts-jaberfw_ke3_yi3', '072_audiocmn-ChenWang_bu4', '107_tts-supervocab_bu2_yong4', '110_tts-supervocab_shei2', '183_vtuber-hiiro_ni3_shi4_shei2'], stress: 'zh_053' },
  asterisk: { wire: asteriskWire, natural: ['045_audiocmn-ChenWang_hao3', '175_vtuber-hiiro_mei2_wen4_ti2', '081_audiocmn-ChenWang_bie2', '120_tts-jaberfw_bu4', '111_tts-supervocab_shen2_me0', '063_audiocmn-ChenWang_en4'], stress: 'zh_005' },
  telnyx: { wire: telnyxWire, natural: ['032_TonePerfect-FV3_shi4', '105_tts-supervocab_dang1_ran2', '106_tts-supervocab_bu4', '179_vtuber-hiiro_bu2_yao4', '125_tts-jaberfw_shei2', '186_vtuber-hiiro_shei2_a0'], stress: 'zh_008' },
  plivo: { wire: plivoWire, natural: ['049_TonePerfect-FV2_hao3', '116_tts-jaberfw_xing2', '122_tts-jaberfw_bu4_xing2', '075_TonePerfect-FV1_bu4', '093_TonePerfect-FV1_shei2', '184_vtuber-hiiro_ni3_shi4_shei2_a0'], stress: 'zh_055' },
  exotel: { wire: exotelWire, natural: ['058_TonePerfect-FV2_xing2', '177_vtuber-hiiro_ke3_yi3_ke3_yi3_ke3_yi3', '085_TonePerfect-FV2_bie2', '123_tts-jaberfw_bu2_yao4', '126_tts-jaberfw_shen2_me0', '096_TonePerfect-MV1_shei2'], stress: 'zh_057' },
};

interface Decided {
  wire: string;
  item: ConsentItem;
  stress: boolean;
  decision: string;
  native: string;
  /** Set when the first decisions differed and the item was played again through both. */
  again?: { decision: string; native: string };
  /** What the wire's call heard and why it decided so (its `consent` event), for the log and a failure's message. */
  heard: string;
}


const byName = new Map(consentItems(AUDIO_DIR).map((i) => [i.label.file.replace(/^.*\//, '').replace(/\.wav$/, ''), i]));
const item = (name: string): ConsentItem => {
  const i = byName.get(name);
  if (!i) throw new Error(`consent item ${name} is not in the corpus`);
  return i;
};

let gw: Gateway;
let outcomes: Decided[] = [];

/** One answer through a platform wire: expect_consent through the control API, the answer and line silence at real time. */
async function throughWire(wire: Wire, base: string, it: ConsentItem, n: number): Promise<{ decision: string; heard: string }> {
  const callId = `consent-${wire.name}-${n}`;
  await new Promise((r) => setTimeout(r, n * 40));
  const d = await drive(wire, base, TOKEN, params(callId, { callee: `+86136${String(Date.now() % 1e6).padStart(6, '0')}${String(n).padStart(2, '0')}` }));
  // Over HTTP the window could open after the answer's first audio (84 calls start at once): open it first, as a
  // platform application does before it lets the callee answer.
  await d.call.expectConsent('may-we-continue');
  const clip = wireAudio(it.label.twin8k).samples;
  const audio = new Int16Array(clip.length + 8 * SILENCE_MS);
  audio.set(clip);
  const decided = () => d.events.some((e) => e.type === 'consent');
  const t0 = performance.now();
  for (let i = 0, k = 0; i < audio.length && !decided(); i += 160, k++) {
    d.call.sendAudio(encode('mulaw', audio.subarray(i, i + 160)));
    const wait = t0 + (k + 1) * 20 - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
  }
  await until(decided, 1000, `${callId} consent`).catch(() => undefined);
  const ev = d.events.find((e) => e.type === 'consent') as { decision?: string; transcript?: unknown; reason?: unknown } | undefined;
  const decision = ev?.decision ?? 'none';
  // What the call heard and why, so that a wrong decision is diagnosable from CI's log alone.
  const heard = ev ? `"${String(ev.transcript ?? '')}": ${String(ev.reason ?? '')}` : 'no decision';
  d.call.hangup();
  await until(() => d.closes.length > 0, 5000, `${callId} closed`).catch(() => undefined);
  d.call.close();
  return { decision, heard };
}

beforeAll(async () => {
  let url: string;
  let http: string;
  ({ gw, url, http } = await startGateway({ apiToken: TOKEN }));
  expect(gw.commands.expectConsent, 'consent feature must be active (recogniser model present)').toBeDefined();
  const base = http.replace('http:', 'ws:');
  const jobs = Object.entries(SUBSET).flatMap(([name, s]) => [...s.natural.map((f) => ({ name, wire: s.wire, item: item(f), stress: false })), { name, wire: s.wire, item: item(s.stress), stress: true }]);
  const [native, wired] = await Promise.all([
    runLive(jobs.map((j) => ({ item: j.item, rate: '8k' as const })), { url, dir: AUDIO_DIR, concurrency: jobs.length, staggerMs: jobs.length * 40, callIdPrefix: 'consent-native', headers: { authorization: `Bearer ${TOKEN}` } }),
    Promise.all(jobs.map((j, n) => throughWire(j.wire, base, j.item, n))),
  ]);
  const nativeOf = new Map(native.map((o) => [o.item, o.decision as string]));
  outcomes = jobs.map((j, n) => ({ wire: j.name, item: j.item, stress: j.stress, decision: wired[n]!.decision, native: nativeOf.get(j.item) ?? 'missing', heard: wired[n]!.heard }));
  const differ = outcomes.map((o, n) => ({ o, j: jobs[n]!, n })).filter(({ o }) => !o.stress && o.decision !== o.native);
  if (differ.length) {
    const [native2, wired2] = await Promise.all([
      runLive(differ.map(({ j }) => ({ item: j.item, rate: '8k' as const })), { url, dir: AUDIO_DIR, concurrency: differ.length, callIdPrefix: 'consent-native-again', headers: { authorization: `Bearer ${TOKEN}` } }),
      Promise.all(differ.map(({ j, n }) => throughWire(j.wire, base, j.item, jobs.length + n))),
    ]);
    const native2Of = new Map(native2.map((o) => [o.item, o.decision as string]));
    differ.forEach(({ o, j }, k) => (o.again = { decision: wired2[k]!.decision, native: native2Of.get(j.item) ?? 'missing' }));
  }
  for (const name of Object.keys(SUBSET)) {
    const mine = outcomes.filter((o) => o.wire === name);
    const again = (o: Decided) => (o.again ? ` (again ${o.again.decision}/native ${o.again.native})` : '');
    console.log(`${name} 8k: ${mine.map((o) => `${o.item.label.text}(${o.item.expected[0]})→${o.decision}${o.decision === o.native ? '' : `/native ${o.native}${again(o)}`}`).join(' ')}`);
    for (const o of mine.filter((o) => o.decision !== o.item.expected)) console.log(`  ${name} ${o.item.label.file}: ${o.decision}, heard ${o.heard}`);
  }
}, 120_000);

afterAll(async () => {
  await gw?.stop(0);
});

describe.each(Object.keys(SUBSET))('consent through the %s wire at 8 kHz', (name) => {
  it('decides each natural answer as the native wire does on the same item', () => {
    const natural = outcomes.filter((o) => o.wire === name && !o.stress);
    expect(natural.map((o) => o.item.expected).sort()).toEqual(['granted', 'granted', 'refused', 'refused', 'unclear', 'unclear']);
    expect(natural.every((o) => o.decision !== 'none'), 'every answer decided').toBe(true);
    const agrees = (o: Decided) => {
      const wire = [o.decision, ...(o.again ? [o.again.decision] : [])];
      const native = [o.native, ...(o.again ? [o.again.native] : [])];
      return wire.some((d) => native.includes(d));
    };
    const apart = natural.filter((o) => !agrees(o)).map((o) => `${o.item.label.file}: ${o.decision}${o.again ? `, ${o.again.decision}` : ''} vs native ${o.native}${o.again ? `, ${o.again.native}` : ''}`);
    expect(apart).toEqual([]);
  });

  it('grants nothing that is not a yes (question or refusal holding 可以/是 included)', () => {
    const wrong = outcomes.filter((o) => o.wire === name && o.item.expected !== 'granted' && (o.decision === 'granted' || o.again?.decision === 'granted'));
    expect(outcomes.filter((o) => o.wire === name && o.item.expected !== 'granted').length).toBe(5);
    expect(wrong.map((o) => `${o.item.label.file} "${o.item.label.text}" heard ${o.heard}`)).toEqual([]);
  });
});
