// Streaming ASR through the worker pool with the real Mandarin model on real audio: recognition at 16 kHz and on
// the 8 kHz μ-law twins, keyword spotting, and failures that must surface as errors instead of killing the process.
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isResolved, modelEntry, resolveModel, type ResolvedModel } from '../gateway/models.js';
import {
  AsrWorkerPool,
  syllableErrorRate,
  tokensToSyllables,
  type AsrResult,
} from '../gateway/listen/asr/index.js';
import { metrics } from '../gateway/ops/metrics.js';
import { load16k, run } from './helpers/asrAudio.js';

const MODEL = 'zipformer-wenetspeech-kws-3.3m';

const KE_YI = 'natural/101_tts-supervocab_ke3_yi3.wav';
const BU_SHI = 'natural/013_audiocmn-YueTan_bu2_shi4.wav';
const EN = 'natural/066_TonePerfect-FV1_en4.wav';
const REAL = 'real/wenetspeech_3.wav';
const REAL_REF = 'wen sen te ka suo shi quan qiu zhi ming de fa guo xing ge pai yan yuan'.split(' ');

describe('tokensToSyllables', () => {
  it('joins initials and tonal finals', () => {
    expect(tokensToSyllables('b ù k ě y ǐ')).toEqual({ tone: ['bu4', 'ke3', 'yi3'], toneless: ['bu', 'ke', 'yi'] });
    expect(tokensToSyllables(['n', 'ǚ', 'd', 'e', 'ài', 'ń'])).toEqual({ tone: ['nü3', 'de5', 'ai4', 'n2'], toneless: ['nü', 'de', 'ai', 'n'] });
    expect(syllableErrorRate(['a', 'b', 'c'], ['a', 'x', 'c', 'd'])).toBeCloseTo(2 / 3);
  });
});

describe('ASR worker pool, recogniser mode', () => {
  let pool: AsrWorkerPool;
  beforeAll(async () => {
    pool = await AsrWorkerPool.start({ model: MODEL, mode: 'recognizer', workers: 1, threads: 1 });
  });
  afterAll(() => pool?.close());

  it('verifies at load time that the encoder has a fixed batch of 1 and decodes serially', () => {
    expect(pool.stats().perWorker[0].batching).toMatch(/^serial \(encoder input batch fixed at 1/);
  });

  for (const rate of ['16k', '8k'] as const) {
    it(`recognises natural and real clips streamed concurrently on one worker (${rate})`, async () => {
      const files = [KE_YI, BU_SHI, EN, REAL];
      const streams = files.map((f) => pool.open(`call-${rate}-${f}`));
      const before = pool.stats();
      const pending = files.map((f, i) => run(streams[i], load16k(f, rate)));
      // Every 20 ms chunk and finish of the four calls, asked in one task, reach the worker as one message.
      const asked = pool.stats();
      expect(asked.requests - before.requests).toBe(files.reduce((n, f) => n + Math.ceil(load16k(f, rate).length / 320) + 1, 0));
      expect(asked.messages - before.messages).toBe(0);
      await new Promise<void>((r) => queueMicrotask(r));
      expect(pool.stats().messages - before.messages).toBe(1);
      const out = await Promise.all(pending);
      const syl = out.map((o) => tokensToSyllables(o.final.tokens).toneless);
      expect(out.every((o) => !o.final.error)).toBe(true);
      expect(syl[0].join(' ')).toContain('ke yi');
      expect(syl[1].join(' ')).toContain('bu shi');
      // The model spells 嗯 as en / n / ng; it must not turn into a consent word.
      expect(syl[2].some((s) => ['en', 'n', 'ng'].includes(s))).toBe(true);
      expect(syl[2].join(' ')).not.toMatch(/ke yi|shi|hao|xing/);
      const ser = syllableErrorRate(REAL_REF, syl[3]);
      expect(ser).toBeLessThan(0.2);
      // Pinyin text is the raw token text, and timing is in stream audio time inside the speech.
      expect(out[0].final.text).toBe(out[0].final.tokens.join(' '));
      expect(out[0].final.startMs!).toBeGreaterThan(600);
      expect(out[0].final.endMs!).toBeLessThan(1700);
      // An 8 s sentence produces partials whose text grows before the final.
      expect(out[3].partials.length).toBeGreaterThan(3);
      expect(out[3].partials.every((p) => !p.final)).toBe(true);
      const cost = streams.map((s) => s.stats());
      for (const c of cost) {
        expect(c.audioMs).toBeGreaterThan(1500);
        expect(c.cpuMsPerAudioSec).toBeGreaterThan(1);
        expect(c.cpuMsPerAudioSec).toBeLessThan(150);
      }
      console.info(`[asr ${rate}] SER real=${ser.toFixed(3)} syllables:`, syl.map((s) => s.join(' ')), 'cpu ms/audio s:', cost.map((c) => c.cpuMsPerAudioSec.toFixed(1)));
      streams.forEach((s) => s.close());
    });
  }

  it('keeps working on the same stream for a second utterance after finish(), and reset() drops audio', async () => {
    const s = pool.open('call-two-utterances');
    const first = await run(s, load16k(BU_SHI, '16k'));
    expect(tokensToSyllables(first.final.tokens).toneless.join(' ')).toContain('bu shi');
    // A whole 不是 then reset: that audio must not leak into the next utterance.
    const bu = load16k(BU_SHI, '16k');
    s.accept(bu.slice(0, bu.length));
    s.reset();
    const second = await new Promise<AsrResult>((res) => {
      s.onResult((r) => r.final && res(r));
      const a = load16k(KE_YI, '16k');
      for (let i = 0; i < a.length; i += 320) s.accept(a.slice(i, i + 320));
      s.finish();
    });
    expect(tokensToSyllables(second.tokens).toneless.join(' ')).toBe('ke yi');
    // Second utterance's times are stream times: after the two earlier clips.
    expect(second.startMs!).toBeGreaterThan(2 * 2350);
    s.close();
  });

  it('decodes a priority-0 final before a backlog of other streams, and audio sent right after a finish goes to the next utterance', async () => {
    // Three streams with a whole 8 s sentence each waiting to be decoded, then a short answer on a priority stream.
    const busy = [0, 1, 2].map((i) => pool.open(`call-busy-${i}`));
    const busyDone = busy.map((s) => new Promise<number>((res) => s.onResult((r) => r.final && res(performance.now()))));
    const real = load16k(REAL, '16k');
    for (const s of busy) {
      for (let i = 0; i < real.length; i += 16000) s.accept(real.slice(i, i + 16000));
      s.finish();
    }
    const answer = pool.open('call-answer', { priority: 0 });
    const finals: { text: string; at: number }[] = [];
    const two = new Promise<void>((res) =>
      answer.onResult((r) => {
        if (!r.final) return;
        finals.push({ text: tokensToSyllables(r.tokens).toneless.join(' '), at: performance.now() });
        if (finals.length === 2) res();
      }),
    );
    // Two utterances back to back, the second sent before the first's final could come back.
    answer.accept(load16k(KE_YI, '16k'));
    answer.finish();
    answer.accept(load16k(BU_SHI, '16k'));
    answer.finish();
    await two;
    const busyAt = await Promise.all(busyDone);
    expect(finals[0].text).toContain('ke yi');
    expect(finals[0].text).not.toContain('bu shi');
    expect(finals[1].text).toContain('bu shi');
    expect(finals[1].text).not.toContain('ke yi');
    // The answer's first final overtook the sentences queued ahead of it (their finals were posted first).
    expect(finals[0].at).toBeLessThan(Math.min(...busyAt));
    for (const s of [...busy, answer]) s.close();
  });
});

describe('ASR worker pool, KWS mode', () => {
  it('spots 可以 in a 可以 clip and not 不可以; nothing in 不是', async () => {
    const pool = await AsrWorkerPool.start({
      model: MODEL,
      mode: 'kws',
      workers: 1,
      keywords: 'k ě y ǐ @可以\nb ù k ě y ǐ @不可以',
    });
    try {
      const a = pool.open('kws-a');
      const b = pool.open('kws-b');
      const [ra, rb] = await Promise.all([run(a, load16k(KE_YI, '16k')), run(b, load16k(BU_SHI, '16k'))]);
      expect(ra.final.keywords).toEqual(['可以']);
      expect(ra.final.text).toBe('可以');
      expect(ra.final.tokens).toEqual(['k', 'ě', 'y', 'ǐ']);
      // The hit is reported as a partial as soon as it is spotted, before finish().
      expect(ra.partials.some((p) => p.keywords?.includes('可以'))).toBe(true);
      expect(rb.final.keywords).toEqual([]);
      const c = pool.open('kws-8k');
      const rc = await run(c, load16k(KE_YI, '8k'));
      expect(rc.final.keywords).toEqual(['可以']);
    } finally {
      await pool.close();
    }
  });
});

describe('ASR worker failures', () => {
  const good = resolveModel(MODEL) as ResolvedModel;
  beforeAll(() => expect(isResolved(good)).toBe(true));

  it('a missing model file is a clear start-up error', async () => {
    const files = { ...good.files, encoder: '/nonexistent/encoder.onnx' };
    await expect(AsrWorkerPool.start({ model: MODEL, mode: 'recognizer', resolved: { entry: good.entry, files } })).rejects.toThrow(
      /failed to load model .*encoder file \/nonexistent\/encoder.onnx does not exist/,
    );
  });

  it('a damaged model file is rejected before sherpa-onnx can abort the process', async () => {
    // A garbage .onnx makes sherpa-onnx's native code std::terminate even inside a worker thread; the pool must
    // catch it first. The process surviving this test is the point.
    const root = mkdtempSync(join(tmpdir(), 'earshot-asr-bad-'));
    const entry = modelEntry(MODEL);
    mkdirSync(join(root, entry.dir));
    for (const [role, f] of Object.entries(entry.files)) {
      writeFileSync(join(root, entry.dir, f), role === 'tokens' ? readFileSync(good.files.tokens) : 'this is not a model\n');
    }
    await expect(AsrWorkerPool.start({ model: MODEL, mode: 'recognizer', modelsDir: root })).rejects.toThrow(/not an ONNX file|not an ONNX model/);
  });

  it('an unknown model id says so', async () => {
    await expect(AsrWorkerPool.start({ model: 'no-such-model', mode: 'recognizer' })).rejects.toThrow(/not in models\/manifest.json/);
  });

  for (const [host, how, why] of [
    ['process', 'throw', /ASR worker 0 failed: deliberate ASR worker crash/],
    ['thread', 'throw', /ASR worker 0 failed: deliberate ASR worker crash/],
    // What sherpa-onnx did as a worker thread ended (README: Models): a C++ exception, std::terminate, SIGABRT.
    ['process', 'abort', /ASR worker 0 failed: helper process killed by SIGABRT/],
    // A deadlock in native code: the watchdog (stallMs, 1 s here) ends the worker.
    ['process', 'hang', /ASR worker 0 failed: stopped answering \(no reply for \d+ ms\)/],
    ['thread', 'hang', /ASR worker 0 failed: stopped answering \(no reply for \d+ ms\)/],
  ] as const) {
    it(`a worker (${host}) that ${how === 'hang' ? 'stops answering' : 'dies'} mid-call (${how}) gives its streams an error result, restarts, and the streams carry on`, async () => {
      await crashAndCarryOn(host, how, why);
    });
  }

  it('a worker busy with a backlog still answers the watchdog between decodes: none is ended', async () => {
    // 24 s of audio finished at once on one worker: its finals decode back to back for a while, one task each.
    const pool = await AsrWorkerPool.start({ model: MODEL, mode: 'recognizer', workers: 1, stallMs: 2000 });
    try {
      const real = load16k(REAL, '16k');
      const finals = await Promise.all(
        [0, 1, 2].map((i) => {
          const s = pool.open(`busy-${i}`);
          const done = new Promise<AsrResult>((res) => s.onResult((r) => r.final && res(r)));
          s.accept(real);
          s.finish();
          return done;
        }),
      );
      for (const f of finals) {
        expect(f.error).toBeUndefined();
        expect(syllableErrorRate(REAL_REF, tokensToSyllables(f.tokens).toneless)).toBeLessThan(0.5);
      }
      expect(pool.stats().restarts).toBe(0);
    } finally {
      await pool.close();
    }
  });

  it('closing the pool ends every worker process', async () => {
    const pool = await AsrWorkerPool.start({ model: MODEL, mode: 'recognizer', workers: 2 });
    const pids = pool.stats().perWorker.map((w) => w.pid);
    expect(pids.every((pid) => typeof pid === 'number' && alive(pid))).toBe(true);
    await pool.close();
    for (const pid of pids) expect(alive(pid), `helper ${pid} still running`).toBe(false);
  });

  async function crashAndCarryOn(host: 'process' | 'thread', how: 'throw' | 'abort' | 'hang', why: RegExp): Promise<void> {
    const pool = await AsrWorkerPool.start({ model: MODEL, mode: 'recognizer', workers: 1, host, stallMs: 1000 });
    const reason = how === 'hang' ? 'stalled' : 'exited';
    const deaths0 = await deathsCounted(reason);
    try {
      const s = pool.open('crash-call');
      const errored = new Promise<AsrResult>((res) => s.onResult((r) => r.error && res(r)));
      s.accept(load16k(KE_YI, '16k').slice(0, 8000));
      pool.crashWorkerForTest(0, how);
      const e = await errored;
      expect(e.final).toBe(true);
      expect(e.error).toMatch(why);
      // The worker comes back and the same stream recognises the next utterance.
      expect(await deathsCounted(reason)).toBe(deaths0 + 1);
      await expect.poll(() => pool.stats().readyWorkers, { timeout: 20_000 }).toBe(1);
      expect(pool.stats().restarts).toBe(1);
      expect((await metrics.asrWorkerUp.get()).values.find((v) => v.labels.worker === '0')?.value).toBe(1);
      const s2 = pool.open('after-crash');
      const [r1, r2] = await Promise.all([run(s, load16k(KE_YI, '16k')), run(s2, load16k(BU_SHI, '16k'))]);
      expect(tokensToSyllables(r1.final.tokens).toneless.join(' ')).toContain('ke yi');
      expect(tokensToSyllables(r2.final.tokens).toneless.join(' ')).toContain('bu shi');
    } finally {
      await pool.close();
    }
  }
});

/** earshot_asr_worker_deaths_total{reason} so far (every pool of this process counts in it). */
async function deathsCounted(reason: string): Promise<number> {
  return (await metrics.asrWorkerDeaths.get()).values.find((v) => v.labels.reason === reason)?.value ?? 0;
}

function alive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
