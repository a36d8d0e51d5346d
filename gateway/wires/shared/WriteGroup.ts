// Groups one pacer tick's prompt frames for a call into a single socket write. The first frame corks the socket,
// `flush` (the pacer's afterTick) uncorks it, and Node hands everything queued in between to one writev: one
// syscall, and one trip through the TCP stack, for `playout.framesPerWrite` frames instead of one each.
export interface Corkable {
  cork(): void;
  uncork(): void;
}

export class WriteGroup {
  private held = false;
  /** Bytes written into the group so far: queued in the socket by the cork, not by a slow reader. */
  heldBytes = 0;

  constructor(private readonly socket: Corkable) {}

  /** Before a frame of `bytes` is written: later writes in this tick join it. */
  hold(bytes: number): void {
    this.heldBytes += bytes;
    if (this.held) return;
    this.held = true;
    this.socket.cork();
  }

  flush(): void {
    this.heldBytes = 0;
    if (!this.held) return;
    this.held = false;
    this.socket.uncork();
  }
}
