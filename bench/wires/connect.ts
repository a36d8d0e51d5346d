// The connect half every socket-based wire client shares: the transport must open within START_TIMEOUT_MS, and an
// error or a close before that fails `connect`; after it, errors and closes belong to the call. Whether `open` came,
// not readyState, tells the two apart: ws moves to CLOSING before it emits a connect error.
import { START_TIMEOUT_MS } from './ready.js';

export class Connecting {
  private opened = false;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly reject: (e: Error) => void,
    kill: () => void,
  ) {
    this.timer = setTimeout(() => {
      if (this.opened) return;
      reject(new Error('connect timeout'));
      kill();
    }, START_TIMEOUT_MS);
  }

  open(): void {
    this.opened = true;
    clearTimeout(this.timer);
  }

  error(err: Error): void {
    if (this.opened) return;
    clearTimeout(this.timer);
    this.reject(err);
  }

  /** A close: before `open` it fails the connect with `message` and returns true (the wire has nothing to end). */
  closedBeforeOpen(message: string): boolean {
    clearTimeout(this.timer);
    if (this.opened) return false;
    this.reject(new Error(message));
    return true;
  }
}
