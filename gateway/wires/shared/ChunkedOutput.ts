// Prompt audio regrouped into the chunk size a far end asks for (Exotel: 100 ms, multiples of 320 bytes; FreeSWITCH
// modules that play each message as a file; Asterisk with a ptime other than 20 ms). A chunk leaves once its last
// frame has come from the pacer, so audio never goes out ahead of the pacer's schedule. For the far end to play
// chunks back to back, each must arrive before its first sample is due: the wire asks the pacer for a lead of a
// chunk (`CallSink.playoutLeadMs`), else the far end would start a chunk late and stay that late (the first audio of
// every prompt then waits for a whole chunk). Marks wait for the chunk that holds the audio before them, or they
// would be echoed before that audio played.
export class ChunkedOutput {
  private parts: Uint8Array[] = [];
  private bytes = 0;
  private waiting: (() => void)[] = [];

  constructor(
    private readonly chunkBytes: number,
    private readonly write: (chunk: Uint8Array) => void,
  ) {
    if (!(chunkBytes > 0)) throw new Error(`chunk size ${chunkBytes}`);
  }

  /** Bytes held for the next chunk. */
  get held(): number {
    return this.bytes;
  }

  push(frame: Uint8Array): void {
    // The pacer's frames may be views of a buffer it reuses.
    this.parts.push(Uint8Array.from(frame));
    this.bytes += frame.byteLength;
    if (this.bytes >= this.chunkBytes) this.emit(this.bytes - (this.bytes % this.chunkBytes));
  }

  /** Runs `fn` once the audio pushed so far has left (at once if none is held). */
  afterHeld(fn: () => void): void {
    if (this.bytes === 0) fn();
    else this.waiting.push(fn);
  }

  /** Sends what is held (a prompt ended), padded with `pad` to a whole multiple of `multiple` bytes. */
  flush(multiple = 1, pad = 0): void {
    if (!this.bytes) return;
    const rest = this.bytes % multiple;
    if (rest) {
      const fill = new Uint8Array(multiple - rest).fill(pad);
      this.parts.push(fill);
      this.bytes += fill.byteLength;
    }
    this.emit(this.bytes);
  }

  /** Forgets what is held and the marks waiting for it (the far end was told to drop its buffer). */
  drop(): void {
    this.parts = [];
    this.bytes = 0;
    this.waiting = [];
  }

  private emit(n: number): void {
    const all = new Uint8Array(this.bytes);
    let o = 0;
    for (const p of this.parts) {
      all.set(p, o);
      o += p.byteLength;
    }
    this.write(all.subarray(0, n));
    const rest = all.subarray(n);
    this.parts = rest.byteLength ? [rest] : [];
    this.bytes = rest.byteLength;
    if (this.bytes === 0) {
      const w = this.waiting;
      this.waiting = [];
      for (const fn of w) fn();
    }
  }
}
