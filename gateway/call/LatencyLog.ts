// Per-call latency accounting, reported in call_summary. Bounded: a long call keeps a fixed-size sample.
import type { LatencyReport } from './events.js';

export interface BargeInRecord {
  promptId: string;
  onsetT: number;
  pauseT: number;
  commitT: number;
  /** Wall ms from the decision to the last prompt frame sent after it (0 when none was). */
  stopMs?: number;
}

const CAP = 4096;

/** Percentiles of one sample, sorted once (every call end reports three of each; sorting per percentile showed). */
function pcts(xs: number[], ps: readonly number[]): (number | null)[] {
  if (!xs.length) return ps.map(() => null);
  const s = Float64Array.from(xs).sort();
  return ps.map((p) => s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]);
}

function push(xs: number[], v: number): void {
  if (xs.length < CAP) xs.push(v);
  else xs[Math.floor(Math.random() * CAP)] = v;
}

export class LatencyLog {
  private inbound: number[] = [];
  private vad: number[] = [];
  private first: number[] = [];
  private stop: number[] = [];
  private falsePauses = 0;
  readonly bargeIns: BargeInRecord[] = [];

  inboundFrame(ms: number): void {
    push(this.inbound, ms);
  }
  vadFrame(ms: number): void {
    push(this.vad, ms);
  }
  firstAudio(ms: number): void {
    push(this.first, ms);
  }
  stopAfterDecision(ms: number): void {
    const last = this.bargeIns[this.bargeIns.length - 1];
    if (last) last.stopMs = Math.max(last.stopMs ?? 0, ms);
    push(this.stop, ms);
  }
  falsePause(): void {
    this.falsePauses++;
  }
  bargeIn(r: BargeInRecord): void {
    this.bargeIns.push({ ...r, stopMs: 0 });
  }

  report(): LatencyReport {
    const round = (v: number | null) => (v === null ? null : Math.round(v * 1000) / 1000);
    const summary = (xs: number[]) => {
      const [p50, p95, max] = pcts(xs, [50, 95, 100]).map(round);
      return { p50, p95, max, n: xs.length };
    };
    const first = summary(this.first);
    return {
      bargeIns: this.bargeIns.map((b) => ({ ...b, pauseLatencyMs: b.pauseT - b.onsetT, commitLatencyMs: b.commitT - b.onsetT })),
      pausesResumed: this.falsePauses,
      inboundFrameMs: summary(this.inbound),
      vadFrameMs: summary(this.vad),
      firstAudioMs: { p50: first.p50, p95: first.p95, n: first.n },
    };
  }
}
