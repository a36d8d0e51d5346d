// The ASR inference thread: owns one recogniser (or keyword spotter) and all streams assigned to it. Models exported
// with batch size 1 are decoded strictly one stream at a time (decodeStreams with two such streams aborts the
// process); models with a dynamic batch dimension are decoded together once per event-loop turn. Audio is taken
// (features) as it comes, decoding is scheduled (DecodeScheduler): a finished utterance first, streaming steps in
// between, one at a time, so a final never waits behind the backlog of other streams.
import { recordStallsFromEnv } from '../ops/stallRecorder.js';
import { createEngine } from '../listen/asr/backends.js';
import type { AsrEngine, AsrEngineSpec, EngineStream } from '../listen/asr/engine.js';
import { checkFilesExist, encoderFile, onnxFiles } from '../listen/asr/modelConfig.js';
import type { EngineHyp } from '../listen/asr/engine.js';
import type { AsrHypothesis, AsrResult } from '../listen/asr/types.js';
import { transformAudio } from '../listen/asr/transform.js';
import type { AsrReply, AsrRequest, AsrStreamRequest, AsrWorkerData } from './asrProtocol.js';
import { batchDimension, readOnnxInputs } from './onnxInputs.js';
import { DecodeScheduler } from './DecodeScheduler.js';
import { NativeStreamCollector, threadGc } from './NativeStreamCollector.js';
import { ThreadCpuClock } from './threadCpu.js';
import { hostPort } from './hostPort.js';

// A worker thread or a helper process (asr.host); the code is the same.
const port = await hostPort<AsrWorkerData, AsrRequest, AsrReply>();
const data = port.data;
// Bench only (EARSHOT_STALL_LOG): this worker's long decodes and collections, timestamped for the soak.
recordStallsFromEnv(`asr-${port.name}`, process.env, 10);
const post = (m: AsrReply) => port.post(m);

interface Slot {
  es: EngineStream;
  secondOpinions: boolean;
  narrowband: boolean;
  /** Finals of streams with a lower number are decoded first (see DecodeScheduler). */
  priority: number;
  /** Set while a final of this stream waits: the stream's later requests, applied once it ran (in order). */
  backlog: AsrStreamRequest[] | null;
  /** Samples accepted since open (all utterances) and at the start of the current utterance. */
  samples: number;
  uttStart: number;
  lastText: string;
  lastPartialAt: number;
  cpuMs: number;
  lastUsagePost: number;
}

function resolveBatching(spec: AsrWorkerData['spec']): { dynamicBatch: boolean; batching: string } {
  checkFilesExist(spec as AsrEngineSpec);
  // Structural check of every ONNX file first: a damaged file would std::terminate the process inside sherpa.
  for (const f of onnxFiles(spec as AsrEngineSpec)) readOnnxInputs(f);
  const enc = encoderFile(spec as AsrEngineSpec);
  const declared = enc ? batchDimension(enc) : { kind: 'unknown' as const };
  const manifest = spec.entry.dynamicBatch === true;
  if (declared.kind === 'fixed') {
    return { dynamicBatch: false, batching: `serial (encoder input batch fixed at ${declared.size}${manifest ? '; manifest said dynamic — overridden' : ''})` };
  }
  if (declared.kind === 'dynamic') {
    return { dynamicBatch: manifest, batching: manifest ? 'batched (encoder batch dimension dynamic)' : 'serial (manifest says no dynamic batch)' };
  }
  return { dynamicBatch: manifest, batching: `${manifest ? 'batched' : 'serial'} (encoder batch not declared; trusting manifest)` };
}

let engine: AsrEngine;
const clock = new ThreadCpuClock();
const rate = data.spec.entry.sampleRate ?? 16000;
const slots = new Map<number, Slot>();
const sched = new DecodeScheduler();
/**
 * Native streams are freed only when collected (see NativeStreamCollector); a collection waits while decodes are
 * pending: it would hold a final up to the length of a full GC.
 */
const collector = new NativeStreamCollector(threadGc(), 64, 2000, () => !sched.idle);
let pumpScheduled = false;

try {
  const b = resolveBatching(data.spec);
  engine = createEngine({ ...data.spec, dynamicBatch: b.dynamicBatch });
  post({ op: 'ready', name: engine.name, batching: `${b.batching}; cpu clock ${clock.source}` });
} catch (e) {
  // Nothing to do without a model: the pool reports the failure.
  port.fail({ op: 'failed', message: (e as Error).message }, e as Error);
}

function newSlot(secondOpinions: boolean, priority: number, narrowband: boolean): Slot {
  return { es: engine.createStream({ secondOpinions, narrowband }), secondOpinions, narrowband, priority, backlog: null, samples: 0, uttStart: 0, lastText: '', lastPartialAt: 0, cpuMs: 0, lastUsagePost: 0 };
}

const ms = (samples: number) => (samples / rate) * 1000;

/** Engine hypothesis (seconds from the utterance start) → stream-time hypothesis (ms since the stream opened). */
function hypothesis(h: EngineHyp, base: number): AsrHypothesis {
  const r: AsrHypothesis = { text: h.text, tokens: h.tokens };
  if (h.logProbs) r.logProbs = h.logProbs;
  if (h.times) r.tokenMs = h.times.map((t) => base + t * 1000);
  if (h.startSec !== undefined) r.startMs = base + h.startSec * 1000;
  if (h.endSec !== undefined) r.endMs = base + h.endSec * 1000;
  return r;
}

function toResult(sl: Slot, final: boolean, flushMs?: number): AsrResult {
  const h = sl.es.result();
  const base = ms(sl.uttStart);
  const r: AsrResult = { ...hypothesis(h, base), final, audioMs: ms(sl.samples) };
  if (h.alternatives?.length) r.alternatives = h.alternatives.map((a) => hypothesis(a, base));
  if (h.keywords) r.keywords = h.keywords;
  if (h.hits) {
    r.hits = h.hits.map((k) => ({
      keyword: k.keyword,
      startMs: k.startSec === undefined ? undefined : base + k.startSec * 1000,
      endMs: k.endSec === undefined ? undefined : base + k.endSec * 1000,
    }));
  }
  if (flushMs !== undefined) r.flushMs = flushMs;
  return r;
}

/** One decode step of one stream, a partial if the text changed; the stream goes back in line if it has more. */
function stepOne(sid: number, sl: Slot): void {
  if (!sl.es.isReady()) return;
  decodeStep(sid, sl);
  if (sl.es.isReady()) sched.step(sid);
}

function decodeStep(sid: number, sl: Slot, catchUp = false): void {
  const t0 = clock.nowMs();
  sl.es.decode();
  sl.cpuMs += clock.nowMs() - t0;
  maybePartial(sid, sl, catchUp);
}

/** `catchUp`: decoding audio accepted earlier, whose arrival no longer paces the partials: every change goes out. */
function maybePartial(sid: number, sl: Slot, catchUp = false): void {
  const h = sl.es.result();
  if (h.text === sl.lastText) return;
  // KWS hits go out at once (latency is the point); recogniser partials are throttled by audio time.
  const isKws = h.keywords !== undefined;
  if (!isKws && !catchUp && ms(sl.samples - sl.lastPartialAt) < data.partialEveryMs && sl.lastText !== '') return;
  sl.lastText = h.text;
  sl.lastPartialAt = sl.samples;
  post({ op: 'result', sid, result: toResult(sl, false), cpuMs: sl.cpuMs, audioMs: ms(sl.samples) });
}

/** Batched recognisers: every stream with audio waiting, stepped together until none is ready. */
function drain(): void {
  const ids = sched.takeSteps();
  if (!engine.decodeBatch) return;
  // CPU is shared out per stream step.
  let live = ids.filter((sid) => slots.has(sid));
  const stepped = new Set<number>();
  while (live.length) {
    const ready = live.filter((sid) => slots.get(sid)!.es.isReady());
    if (!ready.length) break;
    const t0 = clock.nowMs();
    engine.decodeBatch(ready.map((sid) => slots.get(sid)!.es));
    const share = (clock.nowMs() - t0) / ready.length;
    for (const sid of ready) {
      slots.get(sid)!.cpuMs += share;
      stepped.add(sid);
    }
    live = ready;
  }
  for (const sid of stepped) guarded(sid, () => maybePartial(sid, slots.get(sid)!));
}

/** Runs the next unit of work, then yields to the port, so a final that arrives meanwhile is next in line. */
function pump(): void {
  pumpScheduled = false;
  const u = sched.next();
  if (u?.kind === 'final') u.run();
  else if (u) {
    if (engine.dynamicBatch) {
      sched.step(u.sid);
      drain();
    } else {
      const sl = slots.get(u.sid);
      if (sl) guarded(u.sid, () => stepOne(u.sid, sl));
    }
  }
  schedulePump();
}

function schedulePump(): void {
  if (pumpScheduled || sched.idle) return;
  pumpScheduled = true;
  setImmediate(pump);
}

function finish(sid: number, sl: Slot): void {
  // A batched recogniser steps streams together: this one's waiting audio goes in one more batch first.
  if (engine.dynamicBatch && sched.hasStep(sid)) drain();
  sched.drop(sid);
  // Audio not yet decoded (finals go ahead of streaming steps) is caught up first, with its partials as usual.
  while (sl.es.isReady()) decodeStep(sid, sl, true);
  const w0 = performance.now();
  const t0 = clock.nowMs();
  // The encoder only emits a chunk once its right context is in; padding pushes the last words through.
  const pad = Math.round((data.tailPaddingMs / 1000) * rate);
  if (pad > 0) sl.es.accept(new Float32Array(pad));
  sl.es.inputFinished();
  while (sl.es.isReady()) sl.es.decode();
  const flushMs = performance.now() - w0;
  const result = toResult(sl, true, flushMs);
  sl.cpuMs += clock.nowMs() - t0;
  post({ op: 'result', sid, result, cpuMs: sl.cpuMs, audioMs: ms(sl.samples) });
  startUtterance(sl);
}

/** The final of `sid`, in its turn; then the requests that came after its finish. */
function runFinal(sid: number): void {
  const sl = slots.get(sid);
  if (!sl) return;
  guarded(sid, () => finish(sid, sl));
  const later = sl.backlog ?? [];
  sl.backlog = null;
  for (let i = 0; i < later.length; i++) {
    apply(sid, sl, later[i]);
    // Another finish among them: the rest waits for that one in turn.
    if (sl.backlog) {
      (sl.backlog as AsrStreamRequest[]).push(...later.slice(i + 1));
      break;
    }
  }
}

function startUtterance(sl: Slot): void {
  // A fresh native stream per utterance: after inputFinished a stream cannot take more audio.
  sl.es = engine.createStream({ secondOpinions: sl.secondOpinions, narrowband: sl.narrowband });
  collector.dropped();
  sl.uttStart = sl.samples;
  sl.lastText = '';
  sl.lastPartialAt = sl.samples;
}

function guarded(sid: number, fn: () => void): void {
  try {
    fn();
  } catch (e) {
    // A JS-level failure (bad input, backend exception) loses this utterance only; the stream starts over.
    post({ op: 'error', sid, message: (e as Error).message });
    const sl = slots.get(sid);
    if (sl) {
      try {
        startUtterance(sl);
      } catch {
        slots.delete(sid);
      }
    }
  }
}

port.onMessage((m) => {
  if (m.op === 'ping') return post({ op: 'pong' });
  if (m.op === 'batch') for (const x of m.msgs) handle(x);
  else handle(m);
  schedulePump();
});

function handle(m: AsrStreamRequest): void {
  if (m.op === 'crash') {
    setImmediate(() => {
      if (m.how === 'abort') process.abort();
      if (m.how === 'hang') Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
      throw new Error('deliberate ASR worker crash (test hook)');
    });
    return;
  }
  const { sid } = m;
  if (m.op === 'open') {
    guarded(sid, () => slots.set(sid, newSlot(m.secondOpinions !== false, m.priority ?? 1, m.narrowband === true)));
    return;
  }
  const sl = slots.get(sid);
  if (!sl) return; // closed, or lost to an earlier error
  if (m.op === 'close') {
    sched.drop(sid, true);
    post({ op: 'usage', sid, cpuMs: sl.cpuMs, audioMs: ms(sl.samples) });
    slots.delete(sid);
    collector.dropped();
    return;
  }
  // Behind a final still waiting, the stream's requests keep their order: they belong to its next utterance.
  if (sl.backlog) sl.backlog.push(m);
  else apply(sid, sl, m);
}

function apply(sid: number, sl: Slot, m: AsrStreamRequest): void {
  if (m.op === 'audio') {
    guarded(sid, () => {
      const t0 = clock.nowMs();
      // The transform (a band-extended second hearing) runs here, off the event loop; its CPU is the stream's.
      const x = m.transform ? transformAudio(m.samples, m.transform) : m.samples;
      sl.es.accept(x); // feature extraction happens here: charge it to the stream
      sl.cpuMs += clock.nowMs() - t0;
      sl.samples += x.length;
    });
    // Decoded when nothing more urgent waits (pump).
    sched.step(sid);
    const now = performance.now();
    if (now - sl.lastUsagePost > 250) {
      sl.lastUsagePost = now;
      post({ op: 'usage', sid, cpuMs: sl.cpuMs, audioMs: ms(sl.samples) });
    }
  } else if (m.op === 'finish') {
    sl.backlog = [];
    sched.final(sid, sl.priority, () => runFinal(sid));
  } else if (m.op === 'reset') {
    // The utterance is dropped undecoded.
    sched.drop(sid);
    guarded(sid, () => startUtterance(sl));
  }
}
