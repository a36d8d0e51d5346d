// Warms the listen workers before the gateway says it is ready. A cold worker's first ticks run the VAD graph, the
// echo canceller's delay search and its block filter for the first time (ONNX Runtime allocates on first run, V8
// has not compiled the hot loops yet), and every call on that shard waits for them: in a soak, the only calls over a
// budget were the ones started in the first seconds after /readyz. So before /readyz, each shard gets a short
// synthetic call at each wire rate: a prompt (the reference) echoed back through a delay, then near-end noise bursts
// over it, enough for the canceller to search, lock and filter, and for the VAD to score every frame.
import { seededNoise as noise } from '../audio/seededNoise.js';
import type { ListenService } from './ListenService.js';
import { sharedRun, type SharedRun } from '../ops/sharedRun.js';

export interface WarmUpResult {
  sessions: number;
  frames: number;
  ms: number;
}

const RATE = 16000;
const SECONDS = 2;
const ECHO_DELAY = Math.round(0.06 * RATE);

function toPcm16(x: Float32Array, rate: number): Int16Array {
  const step = RATE / rate;
  const out = new Int16Array(Math.floor(x.length / step));
  for (let i = 0; i < out.length; i++) out[i] = Math.max(-32768, Math.min(32767, Math.round(x[i * step] * 32767)));
  return out;
}

/** The listen workers are the process's (ListenService.start): one warm-up per set, shared by every gateway. */
const warming = new WeakMap<ListenService, Promise<WarmUpResult>>();

/**
 * The warm-up of these workers: run by the first caller, awaited by any other (a second gateway starting meanwhile
 * is not ready before the workers are warm). `ran` is false for callers that found it started.
 */
export function warmUpOnce(listen: ListenService, shards: number): Promise<SharedRun<WarmUpResult>> {
  return sharedRun(warming, listen, () => warmUpListen(listen, shards));
}

export function isWarm(listen: ListenService): boolean {
  return warming.has(listen);
}

/**
 * Runs the synthetic call on every shard at 16 and 8 kHz and resolves when every frame was scored, or after
 * `timeoutMs` (a warm-up never holds a start for long; a gateway that cannot score two seconds of audio in that time
 * has other problems, which /readyz's listen health reports).
 */
export async function warmUpListen(listen: ListenService, shards: number, timeoutMs = 5000): Promise<WarmUpResult> {
  const t0 = performance.now();
  const prompt = noise(SECONDS * RATE, 7, 0.2);
  const mic = noise(SECONDS * RATE, 11, 0.002);
  for (let i = ECHO_DELAY; i < mic.length; i++) mic[i] += 0.3 * prompt[i - ECHO_DELAY];
  // Near-end bursts in the second half, over the echo: the double-talk and speech paths.
  const burst = noise(RATE / 4, 13, 0.25);
  for (const at of [RATE, Math.round(1.5 * RATE)]) for (let i = 0; i < burst.length && at + i < mic.length; i++) mic[at + i] += burst[i];
  const expected = Math.floor((SECONDS * RATE) / 512);
  let frames = 0;
  let sessions = 0;
  const done: Promise<void>[] = [];
  const opened = [];
  // Sessions open on the least loaded shard: alternating the order puts one of each rate on every shard.
  for (let k = 0; k < shards; k++) {
    for (const rate of k % 2 ? [8000, RATE] : [RATE, 8000]) {
      let seen = 0;
      let finish!: () => void;
      done.push(new Promise<void>((r) => (finish = r)));
      const s = listen.open(
        {
          frame: () => {
            frames++;
            if (++seen >= expected) finish();
          },
        },
        { rate },
      );
      opened.push(s);
      sessions++;
      // 20 ms at a time, as a wire delivers it, with the prompt placed where it "plays".
      const step = RATE / 50;
      for (let at = 0; at < prompt.length; at += step) {
        s.addReferencePcm16(at, toPcm16(prompt.subarray(at, at + step), RATE), 0);
        s.pushPcm16(toPcm16(mic.subarray(at, at + step), rate));
      }
    }
  }
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([Promise.all(done), new Promise<void>((r) => (timer = setTimeout(r, timeoutMs)))]);
  clearTimeout(timer);
  for (const s of opened) s.close();
  return { sessions, frames, ms: Math.round(performance.now() - t0) };
}
