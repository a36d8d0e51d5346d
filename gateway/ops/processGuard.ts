// What the process does with an error nobody caught. Every request, socket and call handler catches its own
// errors, so one that reaches here is a bug; dying on it would end every live call for one bad input, so:
//   - an unhandled rejection is logged and counted, and the process serves on (a rejected promise leaves no
//     half-run synchronous code behind);
//   - an uncaught exception is logged with its stack and counted, and the process serves on, unless they come in
//     a burst (more than `maxUncaughtPerMinute` in a minute): then state may be broken, so the gateway drains
//     (live calls end with their summary) and exits non-zero for the supervisor to restart it.
import type { Logger } from './log.js';
import { metrics } from './metrics.js';

export interface ProcessGuardOptions {
  log: Logger;
  maxUncaughtPerMinute: number;
  /** Drain and exit; called once, on the burst. */
  onFatal(reason: string): void;
  now?: () => number;
}

type ProcessLike = Pick<NodeJS.Process, 'on' | 'off'>;

/** Installs the handlers on `proc` (the process, or a stand-in in tests); returns a function that removes them. */
export function installProcessGuard(proc: ProcessLike, opts: ProcessGuardOptions): () => void {
  const now = opts.now ?? (() => Date.now());
  const recent: number[] = [];
  let fatal = false;
  const onRejection = (reason: unknown) => {
    metrics.processErrors.inc({ kind: 'unhandled_rejection' });
    opts.log.error({ err: reason }, 'unhandled rejection (serving on)');
  };
  const onException = (err: Error) => {
    metrics.processErrors.inc({ kind: 'uncaught_exception' });
    const t = now();
    recent.push(t);
    while (recent.length && recent[0] < t - 60_000) recent.shift();
    if (recent.length > opts.maxUncaughtPerMinute) {
      opts.log.fatal({ err, inLastMinute: recent.length }, 'uncaught exceptions in a burst: draining and exiting');
      if (!fatal) {
        fatal = true;
        opts.onFatal('uncaught_exceptions');
      }
      return;
    }
    opts.log.error({ err, inLastMinute: recent.length }, 'uncaught exception (serving on)');
  };
  proc.on('unhandledRejection', onRejection);
  proc.on('uncaughtException', onException);
  return () => {
    proc.off('unhandledRejection', onRejection);
    proc.off('uncaughtException', onException);
  };
}
