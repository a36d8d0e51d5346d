// The outbound pacer: prompt audio leaves in 20 ms frames. A write starts when the next frame is due within
// `lookaheadMs` of the playout clock and carries `framesPerWrite` frames, so a pause or barge-in can only ever leave
// lookaheadMs + framesPerWrite × 20 ms of audio in flight. One timer drives every call's playout (see Pacer)
// instead of one timer per call, and the sink hears `afterTick` once a tick's frames are all handed over.
import { bytesPerSample, encode, encodeView, type AudioFormat } from '../audio/codec.js';

export interface PromptAudio {
  promptId: string;
  /** Samples at the call's rate. More may be appended later for streamed synthesis (see `append`). */
  pcm: Int16Array;
  interruptible: boolean;
  /** Still being synthesised: playout waits for more instead of finishing. */
  open?: boolean;
  text?: string;
}

export interface PlayoutEvents {
  started(p: PromptAudio): void;
  paused(p: PromptAudio, playedMs: number): void;
  resumed(p: PromptAudio): void;
  finished(p: PromptAudio, interrupted: boolean, playedMs: number, reason: string): void;
  /** A frame to send. `pcm` is what the far end will hear, for the echo reference; `playAt` is its scheduled
   *  start on the playout clock (ms, performance.now() timebase). `at`: where `pcm` starts in `p.pcm` when it is a
   *  view of a finished prompt's samples (which per-prompt work such as encoding can be done once for), else −1
   *  (a padded last frame, or audio still being synthesised). Returns false when the transport is full. */
  frame(bytes: Uint8Array, pcm: Int16Array, p: PromptAudio, playAt: number, offsetMs: number, at: number): boolean;
  /** From the first pause on: the audio that would be playing now on the prompt's original schedule. Not sent;
   *  it only feeds the echo canceller's second path, because a far end with its own playout buffer may keep
   *  playing (and echoing) the original schedule after we stop sending. `at` as for `frame`. */
  shadow?(pcm: Int16Array, p: PromptAudio, playAt: number, at: number): void;
}

interface Active {
  prompt: PromptAudio;
  pos: number; // samples sent
  anchorAt: number; // playout-clock ms at which sample `anchorPos` plays
  anchorPos: number;
  paused: boolean;
  /** While paused: playout-clock ms at which the audio already sent runs out. */
  sentEndAt: number;
  /** The shadow follows the prompt's original schedule from the first pause to the prompt's end. */
  shadowing: boolean;
  shadowPos: number;
  shadowAt: number;
}

export class Playout {
  private queue: PromptAudio[] = [];
  private cur: Active | null = null;
  private readonly frameSamples: number;
  lastFrameSentAt = 0;

  constructor(
    private readonly format: AudioFormat,
    private readonly lookaheadMs: number,
    private readonly ev: PlayoutEvents,
    readonly frameMs = 20,
    private readonly framesPerWrite = 1,
  ) {
    this.frameSamples = (format.sampleRate * frameMs) / 1000;
  }

  get current(): PromptAudio | null {
    return this.cur?.prompt ?? null;
  }
  get isPaused(): boolean {
    return !!this.cur?.paused;
  }
  get queued(): number {
    return this.queue.length + (this.cur ? 1 : 0);
  }

  enqueue(p: PromptAudio): void {
    this.queue.push(p);
  }

  /** Streamed synthesis: more audio for a prompt already queued or playing. */
  append(promptId: string, pcm: Int16Array, done: boolean): void {
    const p = this.cur?.prompt.promptId === promptId ? this.cur.prompt : this.queue.find((q) => q.promptId === promptId);
    if (!p) return;
    if (pcm.length) {
      const merged = new Int16Array(p.pcm.length + pcm.length);
      merged.set(p.pcm);
      merged.set(pcm, p.pcm.length);
      p.pcm = merged;
    }
    if (done) p.open = false;
  }

  /** Played position of the current prompt by the playout clock (what the far end has heard, ms). */
  playedMs(now = performance.now()): number {
    const c = this.cur;
    if (!c) return 0;
    const rate = this.format.sampleRate;
    // Audio sent before a pause (≤ lookahead) still plays out, so the clock runs on until it is used up.
    const clock = c.paused ? Math.min(now, c.sentEndAt) : now;
    const byClock = c.anchorPos + Math.max(0, ((clock - c.anchorAt) * rate) / 1000);
    return Math.round((Math.min(byClock, c.pos) / rate) * 1000);
  }

  pause(now = performance.now()): number {
    const c = this.cur;
    if (!c || c.paused) return this.playedMs(now);
    const played = this.playedMs(now);
    if (!c.shadowing) {
      c.shadowing = true;
      c.shadowPos = c.pos;
      c.shadowAt = c.anchorAt + ((c.pos - c.anchorPos) / this.format.sampleRate) * 1000;
    }
    // Audio already sent (≤ lookahead) still plays; the clock stops at what was sent.
    c.sentEndAt = c.anchorAt + ((c.pos - c.anchorPos) / this.format.sampleRate) * 1000;
    c.paused = true;
    this.ev.paused(c.prompt, played);
    return played;
  }

  resume(now = performance.now()): void {
    const c = this.cur;
    if (!c || !c.paused) return;
    c.paused = false;
    // Continue after what the far end still has queued, never on top of it.
    c.anchorAt = Math.max(now, c.sentEndAt);
    c.anchorPos = c.pos;
    this.ev.resumed(c.prompt);
  }

  /** Stops the current prompt (and the queue too when `all`). */
  cancel(reason: string, all = false, now = performance.now()): void {
    const c = this.cur;
    if (c) {
      const played = this.playedMs(now);
      this.cur = null;
      this.ev.finished(c.prompt, true, played, reason);
    }
    if (all) {
      const rest = this.queue;
      this.queue = [];
      for (const p of rest) this.ev.finished(p, true, 0, reason);
    }
  }

  /** Sends whatever is due. Returns false when the transport refused a frame (slow reader). */
  tick(now: number): boolean {
    for (;;) {
      if (!this.cur) {
        const next = this.queue.shift();
        if (!next) return true;
        this.cur = { prompt: next, pos: 0, anchorAt: now, anchorPos: 0, paused: false, sentEndAt: now, shadowing: false, shadowPos: 0, shadowAt: now };
        this.ev.started(next);
      }
      const c = this.cur;
      const rate = this.format.sampleRate;
      if (c.shadowing) this.tickShadow(c, now);
      if (c.paused) return true;
      // Only the first frame of a write waits for the lookahead; the rest of its group goes with it.
      let lead = this.lookaheadMs;
      while (c.pos < c.prompt.pcm.length) {
        const playAt = c.anchorAt + ((c.pos - c.anchorPos) / rate) * 1000;
        // A frame exactly at the bound goes now: the schedule is float ms, and rounding must not decide the group.
        if (playAt - now > lead + 1e-6) return true;
        lead = this.lookaheadMs + (this.framesPerWrite - 1) * this.frameMs;
        const end = Math.min(c.pos + this.frameSamples, c.prompt.pcm.length);
        let pcm = c.prompt.pcm.subarray(c.pos, end);
        let at = c.prompt.open ? -1 : c.pos;
        if (pcm.length < this.frameSamples) {
          if (c.prompt.open) return true; // wait for more synthesised audio
          const padded = new Int16Array(this.frameSamples);
          padded.set(pcm);
          pcm = padded;
          at = -1;
        }
        const bytes = at < 0 ? encode(this.format.encoding, pcm) : encodeView(this.format.encoding, c.prompt.pcm, at, end);
        const ok = this.ev.frame(bytes, pcm, c.prompt, playAt, Math.round((c.pos / rate) * 1000), at);
        c.pos = end;
        this.lastFrameSentAt = now;
        if (!ok) return false;
      }
      if (c.prompt.open) return true;
      // Finished when the clock has played the last frame.
      const endAt = c.anchorAt + ((c.pos - c.anchorPos) / rate) * 1000;
      if (now < endAt) return true;
      this.cur = null;
      this.ev.finished(c.prompt, false, Math.round((c.pos / rate) * 1000), 'completed');
    }
  }

  private tickShadow(c: Active, now: number): void {
    if (!this.ev.shadow) return;
    if (c.shadowPos >= c.prompt.pcm.length) c.shadowing = false;
    const rate = this.format.sampleRate;
    while (c.shadowPos < c.prompt.pcm.length && c.shadowAt - now <= this.lookaheadMs) {
      const end = Math.min(c.shadowPos + this.frameSamples, c.prompt.pcm.length);
      this.ev.shadow(c.prompt.pcm.subarray(c.shadowPos, end), c.prompt, c.shadowAt, c.prompt.open ? -1 : c.shadowPos);
      c.shadowAt += ((end - c.shadowPos) / rate) * 1000;
      c.shadowPos = end;
    }
  }

  bytesPerFrame(): number {
    return this.frameSamples * bytesPerSample(this.format.encoding);
  }
}

/** One timer for all playouts in the process. */
export class Pacer {
  private playouts = new Map<Playout, { onRefused: () => void; afterTick?: () => void }>();
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly intervalMs = 5) {}

  /** `afterTick`: the tick's frames have all been handed over (a sink that groups writes flushes here). */
  add(p: Playout, onRefused: () => void, afterTick?: () => void): void {
    this.playouts.set(p, { onRefused, afterTick });
    if (!this.timer) {
      this.timer = setInterval(() => this.tick(), this.intervalMs);
    }
  }

  remove(p: Playout): void {
    this.playouts.delete(p);
    if (this.playouts.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = null;
    }
  }

  tick(): void {
    const now = performance.now();
    for (const [p, e] of this.playouts) this.run(p, e, now);
  }

  private run(p: Playout, e: { onRefused: () => void; afterTick?: () => void }, now: number): void {
    let ok = true;
    try {
      ok = p.tick(now);
    } finally {
      e.afterTick?.();
    }
    if (!ok) e.onRefused();
  }

  /** One playout now (a prompt was just queued), without waiting for the shared timer. */
  tickOne(p: Playout): void {
    const e = this.playouts.get(p);
    if (e) this.run(p, e, performance.now());
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.playouts.clear();
  }
}
