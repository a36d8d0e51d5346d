// sherpa-onnx-node frees a stream's native state (~0.33 MB for the 3.3M zipformer) only when the stream's JS wrapper
// is garbage-collected, and it has no explicit destroy. The wrappers are tiny, so V8 sees no heap pressure and does
// not collect them: an ASR worker opening a stream per utterance grew the gateway's RSS by ~50 MB a minute in the
// soak (569 → 957 MB in 8 minutes). This runs a full collection on the worker's own thread once enough streams
// were dropped, or shortly after the last drop; a few milliseconds there, none on the audio path.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** V8's collector for this thread: `--expose-gc` set at run time reaches contexts created after it. */
export function threadGc(): (() => void) | null {
  try {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as unknown;
    return typeof gc === 'function' ? (gc as () => void) : null;
  } catch {
    return null;
  }
}

export class NativeStreamCollector {
  private pending = 0;
  private timer: NodeJS.Timeout | null = null;
  /** Collections run so far (for the worker's stats and the tests). */
  collections = 0;

  constructor(
    private readonly gc: (() => void) | null,
    private readonly everyDrops = 64,
    private readonly afterMs = 2000,
  ) {}

  /** A native stream's wrapper was let go. */
  dropped(): void {
    if (!this.gc) return;
    if (++this.pending >= this.everyDrops) return this.collect();
    this.timer ??= setTimeout(() => this.collect(), this.afterMs);
    this.timer.unref?.();
  }

  private collect(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.pending = 0;
    this.collections++;
    // Native finalizers run after the collection, from the event loop: the worker yields between messages.
    this.gc!();
  }
}
