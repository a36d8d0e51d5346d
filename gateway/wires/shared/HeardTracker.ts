// How much of each prompt the callee actually heard, for wires whose far end echoes marks back once the audio
// queued before them has played (Twilio `mark`, Vonage `notify`). Bytes sent say nothing: the far end buffers.
// A mark goes out every N frames, at a prompt's end and right after a clear (a barrier: echoed at once).
import type { EventOf } from '../../call/events.js';

/** m: periodic, e: the prompt's end, c: the barrier after a clear. */
export type MarkKind = 'm' | 'e' | 'c';

interface PromptMarks {
  frames: number;
  heardMs: number;
  cleared: boolean;
}

export class HeardTracker {
  private marks = new Map<string, PromptMarks>();

  constructor(
    private readonly everyFrames: number,
    private readonly sendMark: (endMs: number, kind: MarkKind, promptId: string) => void,
    private readonly emit: (ev: Omit<EventOf<'prompt_heard'>, 't'>) => void,
  ) {}

  private get(promptId: string): PromptMarks {
    let pm = this.marks.get(promptId);
    if (!pm) this.marks.set(promptId, (pm = { frames: 0, heardMs: 0, cleared: false }));
    return pm;
  }

  /** A 20 ms frame of `promptId` starting at `offsetMs` was sent. */
  frameSent(promptId: string, offsetMs: number): void {
    const pm = this.get(promptId);
    if (++pm.frames % this.everyFrames === 0) this.sendMark(offsetMs + 20, 'm', promptId);
  }

  /** On `prompt_finished`: an interrupted prompt the far end may still hold gets cleared; a completed one a final mark. */
  finished(promptId: string, interrupted: boolean, playedMs: number, clear: (promptId: string) => void): void {
    const pm = this.marks.get(promptId);
    if (!pm) return; // never sent a frame
    if (interrupted && !pm.cleared) clear(promptId);
    else if (!interrupted) this.sendMark(playedMs, 'e', promptId);
  }

  /** The far end was told to drop its buffer: marks queued before it now echo at once and prove nothing. */
  cleared(promptId: string): void {
    this.get(promptId).cleared = true;
    this.sendMark(0, 'c', promptId);
  }

  /** A mark came back: everything queued before it has played. */
  echoed(promptId: string, endMs: number, kind: string): void {
    const pm = this.marks.get(promptId);
    if (!pm) return;
    if (kind === 'm') {
      if (!pm.cleared) pm.heardMs = Math.max(pm.heardMs, endMs);
    } else if (kind === 'e' || kind === 'c') {
      if (kind === 'e') pm.heardMs = endMs;
      this.emit({ type: 'prompt_heard', promptId, heardMs: pm.heardMs, complete: kind === 'e' });
      this.marks.delete(promptId);
    }
  }
}
