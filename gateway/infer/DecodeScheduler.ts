// What an ASR worker decodes next. A recogniser whose model is batch-1 decodes one stream at a time, so the order is
// the latency: decoding each stream's audio as its message arrives made a finished utterance (a consent answer whose
// decision waits on it) queue behind every chunk and every barge-in look that reached the worker first — the
// slowest consent decisions of the soak (630 ms on the audio clock against 295 at the median). Finals go first,
// lower priority number first and in arrival order within one; streaming decode (partials only) runs in between,
// one step of one stream at a time, round robin, so a final that arrives meanwhile waits for at most one step.

export type Unit = { kind: 'final'; sid: number; run: () => void } | { kind: 'step'; sid: number };

export class DecodeScheduler {
  private finals: { sid: number; priority: number; seq: number; run: () => void }[] = [];
  /** Streams with audio to decode in the background; insertion order is the round robin. */
  private steps = new Set<number>();
  private seq = 0;

  /** A final for stream `sid`: before any streaming step, lower `priority` first, first come first served within one. */
  final(sid: number, priority: number, run: () => void): void {
    const f = { sid, priority, seq: this.seq++, run };
    // Few finals wait at once (one per stream at most, usually none): an ordered insert is enough.
    let i = this.finals.length;
    while (i > 0 && this.finals[i - 1].priority > priority) i--;
    this.finals.splice(i, 0, f);
  }

  /** Stream `sid` has audio its recogniser can decode ahead of its final (for partial results). */
  step(sid: number): void {
    this.steps.add(sid);
  }

  /** Takes every stream with a pending step (a batched recogniser steps them all together). */
  takeSteps(): number[] {
    const ids = [...this.steps];
    this.steps.clear();
    return ids;
  }

  hasStep(sid: number): boolean {
    return this.steps.has(sid);
  }

  /** Forgets a stream's background steps (reset, close), and its finals too when `finals` (close). */
  drop(sid: number, finals = false): void {
    this.steps.delete(sid);
    if (finals) this.finals = this.finals.filter((f) => f.sid !== sid);
  }

  get idle(): boolean {
    return this.finals.length === 0 && this.steps.size === 0;
  }

  /** The next unit of work, or null. A step is handed out once: re-add the stream if it has more to decode. */
  next(): Unit | null {
    const f = this.finals.shift();
    if (f) return { kind: 'final', sid: f.sid, run: f.run };
    for (const sid of this.steps) {
      this.steps.delete(sid);
      return { kind: 'step', sid };
    }
    return null;
  }
}
