// sherpa-onnx-node frees a stream's native state (~0.33 MB for the 3.3M zipformer) only when the stream's JS wrapper
// is garbage-collected, and it has no explicit destroy. The wrappers are tiny, so V8 sees no heap pressure and does
// not collect them: an ASR worker opening a stream per utterance grew the gateway's RSS by ~50 MB a minute in the
// soak (569 → 957 MB in 8 minutes). This runs a full collection on the worker's own thread once enough streams
// were dropped, or shortly after the last drop; none on the audio path. Most collections are minor (a scavenge,
// ~1 ms): a stream lives for one utterance, seconds in a worker that allocates little, so its wrapper is still in the
// young generation when it is let go. A full collection (10–55 ms in the soak, for a ~7 MB heap, ran every ~2.7 s
// and held any final that arrived meanwhile) only every `majorEvery`th time, for the wrappers that were promoted.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

export type GcKind = 'minor' | 'major';

/** V8's collector for this thread: `--expose-gc` set at run time reaches contexts created after it. */
export function threadGc(): ((kind: GcKind) => void) | null {
  try {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as unknown;
    if (typeof gc !== 'function') return null;
    return (kind) => (kind === 'minor' ? (gc as (o: object) => void)({ type: 'minor' }) : (gc as () => void)());
  } catch {
    return null;
  }
}

export class NativeStreamCollector {
  private pending = 0;
  private timer: NodeJS.Timeout | null = null;
  /** Collections run so far (for the worker's stats and the tests). */
  collections = 0;

  /**
   * `busy`: the thread has work waiting (a final to decode). A collection (a full GC: 10–140 ms in the soak) then
   * waits for a moment without, re-checked every `retryMs`, unless `maxDrops` streams are waiting to be freed.
   */
  constructor(
    private readonly gc: ((kind: GcKind) => void) | null,
    private readonly everyDrops = 64,
    private readonly afterMs = 2000,
    private readonly busy: () => boolean = () => false,
    private readonly maxDrops = everyDrops * 2,
    private readonly retryMs = 10,
    private readonly majorEvery = 8,
  ) {}

  /** A native stream's wrapper was let go. */
  dropped(): void {
    if (!this.gc) return;
    this.pending++;
    if (this.pending >= this.maxDrops || (this.pending >= this.everyDrops && !this.busy())) return this.collect();
    if (this.pending >= this.everyDrops) this.arm(this.retryMs);
    else this.timer ??= this.arm(this.afterMs);
  }

  private arm(ms: number): NodeJS.Timeout {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      if (this.busy() && this.pending < this.maxDrops) this.arm(this.retryMs);
      else this.collect();
    }, ms);
    this.timer.unref?.();
    return this.timer;
  }

  private collect(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.pending = 0;
    this.collections++;
    // Native finalizers run after the collection, from the event loop: the worker yields between messages.
    this.gc!(this.collections % this.majorEvery === 0 ? 'major' : 'minor');
  }
}
