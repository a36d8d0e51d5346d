// Engines that decode the same audio side by side in one stream: the main recogniser and its second opinions (a
// keyword spotter, or the same recogniser with the utterance cut at another point of its chunk grid). The worker
// sees one EngineStream; the result is the main hypothesis with the others attached (`alternatives`, `hits`), so
// whoever decides can weigh them. Every member costs a decode of its own: the ensemble's CPU is the sum.
import type { AsrEngine, EngineHyp, EngineStream, StreamOptions } from './engine.js';

export interface EnsembleMember {
  engine: AsrEngine;
  /** Audio skipped at the start of each utterance before this member hears it, samples. */
  skip: number;
}

class EnsembleStream implements EngineStream {
  private readonly streams: EngineStream[];
  /** Samples each member has still to skip in this utterance. */
  private readonly toSkip: number[];

  constructor(
    private readonly rate: number,
    private readonly main: AsrEngine,
    private readonly members: EnsembleMember[],
  ) {
    this.streams = [main.createStream(), ...members.map((m) => m.engine.createStream())];
    this.toSkip = [0, ...members.map((m) => m.skip)];
  }

  accept(samples: Float32Array): void {
    for (let i = 0; i < this.streams.length; i++) {
      const skip = this.toSkip[i]!;
      if (skip >= samples.length) {
        this.toSkip[i] = skip - samples.length;
        continue;
      }
      this.toSkip[i] = 0;
      this.streams[i]!.accept(skip > 0 ? samples.subarray(skip) : samples);
    }
  }

  isReady(): boolean {
    return this.streams.some((s) => s.isReady());
  }

  decode(): void {
    for (const s of this.streams) if (s.isReady()) s.decode();
  }

  inputFinished(): void {
    for (const s of this.streams) s.inputFinished();
  }

  result(): EngineHyp {
    const h = this.streams[0]!.result();
    const alternatives: EngineHyp[] = [];
    const hits: NonNullable<EngineHyp['hits']> = [...(h.hits ?? [])];
    this.members.forEach((m, k) => {
      const r = shift(this.streams[k + 1]!.result(), m.skip / this.rate);
      if (r.hits) hits.push(...r.hits);
      else alternatives.push(r);
    });
    const out: EngineHyp = { ...h };
    if (alternatives.length) out.alternatives = alternatives;
    if (hits.length) out.hits = hits.sort((a, b) => (a.endSec ?? 0) - (b.endSec ?? 0));
    return out;
  }
}

/** A member's times are on its own clock, which starts `sec` into the utterance. */
function shift(h: EngineHyp, sec: number): EngineHyp {
  if (sec === 0) return h;
  const add = (t: number | undefined) => (t === undefined ? undefined : t + sec);
  const out: EngineHyp = { ...h, startSec: add(h.startSec), endSec: add(h.endSec) };
  if (h.times) out.times = h.times.map((t) => t + sec);
  if (h.hits) out.hits = h.hits.map((k) => ({ ...k, startSec: add(k.startSec), endSec: add(k.endSec) }));
  return out;
}

export class Ensemble implements AsrEngine {
  readonly name: string;
  /** Members decode one stream at a time. */
  readonly dynamicBatch = false;

  constructor(
    private readonly main: AsrEngine,
    private readonly members: EnsembleMember[],
    private readonly rate: number,
  ) {
    this.name = [main.name, ...members.map((m) => `${m.engine.name}${m.skip ? ` (from ${Math.round((m.skip / rate) * 1000)} ms)` : ''}`)].join(' + ');
  }

  createStream(options: StreamOptions = {}): EngineStream {
    if (options.secondOpinions === false) return this.main.createStream();
    return new EnsembleStream(this.rate, this.main, this.members);
  }
}
