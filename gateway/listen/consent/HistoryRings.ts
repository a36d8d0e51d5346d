// The audio rings consent sessions keep their callee's last seconds in (pre-roll and evidence context), reused from
// call to call. A fresh 4 s ring is 256 KB: above glibc's mmap threshold, so every call start mapped it anew and the
// kernel zeroed it page by page — ~1.3 ms of the event loop per call in the soak's CPU profile (3 s of the main
// thread in 3 minutes, in bursts when calls start together). A reused ring is zeroed first: no callee's audio may
// reach another call's evidence.
export class HistoryRings {
  private readonly free: Float32Array[] = [];

  /** `max`: rings kept for reuse at most (each `length` × 4 bytes); more are left to the collector. */
  constructor(
    readonly length: number,
    private readonly max = 32,
  ) {}

  /** A zeroed ring of `length` samples. */
  take(): Float32Array {
    const r = this.free.pop();
    if (!r) return new Float32Array(this.length);
    r.fill(0);
    return r;
  }

  /** Hands back a ring its session no longer reads or writes. */
  give(r: Float32Array): void {
    if (r.length === this.length && this.free.length < this.max && !this.free.includes(r)) this.free.push(r);
  }

  /** Rings waiting for reuse (for tests). */
  get spare(): number {
    return this.free.length;
  }
}
