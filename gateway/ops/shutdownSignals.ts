// Turns termination signals into one graceful drain. A SIGTERM sent to a process group reaches every process in
// it, and a wrapper in that group (npm, tsx) forwards it again: the gateway used to take the copy, a moment later,
// as a second signal and exit at once, skipping the drain. So the same signal again within `duplicateWindowMs` is
// the same request; another signal, or the same one later, means "exit now".
export interface ShutdownSignalsOptions {
  duplicateWindowMs: number;
  drain(sig: string): void;
  force(sig: string): void;
  now?: () => number;
}

export class ShutdownSignals {
  private first: { sig: string; at: number } | null = null;
  private readonly now: () => number;

  constructor(private readonly opts: ShutdownSignalsOptions) {
    this.now = opts.now ?? (() => performance.now());
  }

  /** What a signal did: started the drain, was a duplicate of the first, or forced the exit. */
  receive(sig: string): 'drain' | 'duplicate' | 'force' {
    const t = this.now();
    if (!this.first) {
      this.first = { sig, at: t };
      this.opts.drain(sig);
      return 'drain';
    }
    if (sig === this.first.sig && t - this.first.at < this.opts.duplicateWindowMs) return 'duplicate';
    this.opts.force(sig);
    return 'force';
  }
}
