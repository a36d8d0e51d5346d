// One clock for all calls: a single 5 ms ticker sends every call's due frames, catching up if a tick was late.
// One timer for hundreds of calls keeps the generator cheap, and the recorded lateness shows whether it kept pace.
import { performance } from 'node:perf_hooks';
import { FRAME_MS } from './scenarios.js';

export interface PacedStream {
  startAt: number; // performance.now() of frame 0
  frames: readonly Uint8Array[];
  next: number;
  send(frame: Uint8Array, index: number, wallMs: number): void;
  done(): void;
}

export class Pacer {
  private streams = new Set<PacedStream>();
  private timer: NodeJS.Timeout | null = null;
  /** How late frames went out relative to their schedule, ms (sampled: every 10th frame). */
  readonly lateness: number[] = [];
  private count = 0;

  add(s: PacedStream): void {
    this.streams.add(s);
    if (!this.timer) this.timer = setInterval(() => this.tick(), 5);
  }

  /**
   * Starts a stream now: frame 0 leaves in this very call (not on the next 5 ms tick), so a stream started from
   * an event handler (the first prompt frame arriving) is aligned with that event to well under a millisecond.
   */
  startNow(s: PacedStream): void {
    s.startAt = performance.now();
    this.add(s);
    this.service(s, s.startAt);
  }

  remove(s: PacedStream): void {
    this.streams.delete(s);
  }

  private tick(): void {
    const now = performance.now();
    for (const s of this.streams) this.service(s, now);
  }

  private service(s: PacedStream, now: number): void {
    if (!this.streams.has(s)) return;
    while (s.next < s.frames.length) {
      const due = s.startAt + s.next * FRAME_MS;
      if (due > now) break;
      if (this.count++ % 10 === 0) this.lateness.push(now - due);
      s.send(s.frames[s.next], s.next, now);
      s.next++;
    }
    if (s.next >= s.frames.length) {
      this.streams.delete(s);
      s.done();
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
