// Names for the playback marks a wire sends to a far end that echoes them once the audio before them has played
// (jambonz/Telnyx/Exotel `mark`, Plivo `checkpoint`, Asterisk `MARK_MEDIA`). What a mark stands for (prompt, end
// of the audio before it, kind) stays here and only a short name travels: Asterisk ignores text commands over 128
// bytes and prompt ids may be 128 characters long, and a name the far end echoes is the far end's to mangle.
// Bounded: a far end that never echoes costs the oldest entries, not memory.
import type { MarkKind } from './HeardTracker.js';

export interface MarkEntry {
  promptId: string;
  endMs: number;
  kind: MarkKind;
}

export class MarkTable {
  private readonly pending = new Map<string, MarkEntry>();
  private seq = 0;

  constructor(private readonly max = 256) {}

  /** A name for a new mark; the oldest unechoed mark is forgotten past `max`. */
  name(entry: MarkEntry): string {
    const name = `es${++this.seq}`;
    this.pending.set(name, entry);
    if (this.pending.size > this.max) this.pending.delete(this.pending.keys().next().value!);
    return name;
  }

  /** What an echoed name stood for, once; undefined for a name that is not ours (or forgotten). */
  take(name: unknown): MarkEntry | undefined {
    if (typeof name !== 'string') return undefined;
    const e = this.pending.get(name);
    if (e) this.pending.delete(name);
    return e;
  }

  get size(): number {
    return this.pending.size;
  }
}
