// FV1 / ChenWang 是 and YueTan 行 at 8 kHz through a real gateway, consent.narrowbandVad native vs shared.
import { consentItems } from '/work/wt-consent8/bench/consent/corpus.js';
import { runLive } from '/work/wt-consent8/bench/consent/live.js';
import { startGateway } from '/work/wt-consent8/test/helpers/gateway.js';
import { AUDIO_DIR } from '/work/wt-consent8/test/helpers/corpus.js';
const mode = process.argv[2] as 'native' | 'shared';
const items = consentItems(AUDIO_DIR, { sets: ['natural'] }).filter((i) => /TonePerfect-FV1_shi4|ChenWang.*shi4\.wav|YueTan_xing2|TonePerfect-MV2_xing2/.test(i.label.file));
const { gw, url } = await startGateway({ consent: { narrowbandVad: mode } });
const out = await runLive(items.map((item) => ({ item, rate: '8k' as const })), { url, dir: AUDIO_DIR, concurrency: 4 });
for (const o of out) console.log(mode, o.item.label.file, o.decision, JSON.stringify(o.transcript), o.reason, 'speechEndT', o.speechEndT);
await gw.stop(0);
process.exit(0);
