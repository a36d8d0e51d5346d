// Per scenario: the canceller alone (InboundAudio without the VAD) on a tune-half scenario's caller track at 16 kHz,
// ERLE per second on frames with no caller sound, the lock time and the delay found against the label's.
// Usage: npx tsx bench/bargein/erle-one.ts [--kind echo_only] [--n 20] [--rate 8k]
import { join } from 'node:path';
import { readWav } from '../../gateway/audio/wav.js';
import { decode, encode } from '../../gateway/audio/codec.js';
import { promptReference } from '../../gateway/call/PromptReference.js';
import { loadConfig } from '../../gateway/config.js';
import { InboundAudio } from '../../gateway/listen/InboundAudio.js';
import { ensureCorpus } from '../corpus/build.js';
import { applyFilterTuning } from '../eval-bargein-offline.js';
import { loadScenarioLabels } from './labels.js';

async function main(): Promise<void> {
  const argv = process.argv.slice(2).filter((a) => a !== '--');
  let kind = 'echo_only';
  let n = 20;
  let clean = false;
  let taps = 0;
  let rate: 8000 | 16000 = 16000;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--kind') kind = argv[++i];
    else if (argv[i] === '--n') n = Number(argv[++i]);
    else if (argv[i] === '--rate') rate = argv[++i] === '8k' ? 8000 : 16000;
    else if (argv[i] === '--filter') applyFilterTuning(argv[++i]);
    else if (argv[i] === "--clean") clean = true;
    else if (argv[i] === "--taps") taps = Number(argv[++i]);
  }
  const folder = await ensureCorpus(1);
  const cfg = loadConfig(process.env, { port: 0 });
  const items = loadScenarioLabels(folder).filter((l) => l.split === 'tune' && (kind === 'any' || l.kind === kind) && l.echo && (!clean || (!l.noise && !l.line))).slice(0, n);
  const tot = { mic: 0, res: 0 };
  const bySec: { mic: number; res: number }[] = [];
  for (const l of items) {
    const rd = (rel: string) => {
      const c = readWav(join(folder, rel)).samples;
      return rate === 8000 ? decode('mulaw', encode('mulaw', c)) : c;
    };
    const caller = rd(rate === 8000 ? (l.twin8k as string) : l.file);
    const prompt = rd(rate === 8000 ? (l.promptTwin8k as string) : (l.promptFile as string));
    const inbound = new InboundAudio({ ...cfg.echo, ...(taps ? { taps } : {}) }, false, false, rate);
    const per = (rate * 20) / 1000;
    const up = 16000 / rate;
    let refPos = 0;
    const secs: { mic: number; res: number }[] = [];
    let lockMs = -1;
    let delay = -1;
    // The caller's sound: speech, or a cough, laugh, click or key (their bursts).
    const ev = (l.event as { bursts?: { startMs: number; endMs: number }[] } | null)?.bursts ?? [];
    const segs = [...((l.callerSpeechSegmentsMs as { startMs: number; endMs: number }[] | undefined) ?? []), ...ev];
    let fi = 0;
    for (let i = 0; i < caller.length; i += per) {
      for (; refPos < prompt.length && refPos < i + 3 * per; refPos += per) {
        const end = Math.min(prompt.length, refPos + per);
        const x = rate === 16000 ? Float32Array.from(prompt.subarray(refPos, end), (v) => v / 32768) : promptReference(prompt, 8000, 16000, refPos, end);
        inbound.addReference(refPos * up, x, 0);
      }
      const chunk = new Float32Array(per);
      for (let j = 0; j < per && i + j < caller.length; j++) chunk[j] = caller[i + j] / 32768;
      if (rate === 16000) inbound.push(chunk);
      else inbound.pushNarrow(chunk);
      for (const f of inbound.takeFrames()) {
        const t = fi++ * 32;
        const info = f.info;
        if (info.locked && lockMs < 0) {
          lockMs = t;
          delay = info.delaySamples;
        }
        if (!info.locked || segs.some((g) => t >= g.startMs - 300 && t < g.endMs + 300) || info.refEnergy <= 0) continue;
        const s = Math.floor(t / 1000);
        secs[s] ??= { mic: 0, res: 0 };
        secs[s].mic += info.mic;
        secs[s].res += info.residualEnergy;
        bySec[s] ??= { mic: 0, res: 0 };
        bySec[s].mic += info.mic;
        bySec[s].res += info.residualEnergy;
        tot.mic += info.mic;
        tot.res += info.residualEnergy;
      }
    }
    const e = l.echo as unknown as { delayMs: number; erlDb: number; dispersionMs: number; change: unknown };
    const db = (a: number, b: number) => (10 * Math.log10(a / b)).toFixed(1);
    process.stdout.write(
      `${l.id} ${l.kind} mic ${(10 * Math.log10(secs.reduce((a, x) => a + (x?.mic ?? 0), 0) + 1e-20)).toFixed(1)} ERLE ${db(secs.reduce((a, x) => a + (x?.mic ?? 0), 0), secs.reduce((a, x) => a + (x?.res ?? 0), 0))} erl ${e.erlDb.toFixed(1)} delay ${e.delayMs} disp ${e.dispersionMs} ${e.change ? 'CHANGE' : ''} noise ${JSON.stringify((l.noise as { type: string; snrDb: number } | null)?.type ?? null)} line ${(l.line as { codec: string } | null) ? 'g711' : '-'} | lock ${lockMs} ms delay ${((delay / rate) * 1000).toFixed(1)} ms | ERLE/s ${secs.map((x) => (x ? db(x.mic, x.res) : '·')).join(' ')}\n`,
    );
  }
  process.stdout.write(`ERLE by second ${bySec.map((x) => (x ? (10 * Math.log10(x.mic / x.res)).toFixed(1) : '·')).join(' ')}\n`);
  process.stdout.write(`total ERLE ${(10 * Math.log10(tot.mic / tot.res)).toFixed(1)} dB\n`);
}
main().then(() => process.exit(0), (e: Error) => { process.stderr.write(`${e.stack}\n`); process.exit(2); });
