// One pino logger for the process; every call-scoped line goes through `callLogger` so it carries callId. Lines go
// to stdout through a bounded asynchronous destination (logDestination.ts): logging never blocks or loops on the
// audio path, whatever happens to the reader of stdout.
import { pino, type Logger } from 'pino';
import { LogDestination } from './logDestination.js';
import { metrics } from './metrics.js';

export type { Logger };

/** Default bound on log bytes waiting for stdout (`ops.logBufferBytes`). */
export const DEFAULT_LOG_BUFFER_BYTES = 4 * 1024 * 1024;

export const logDestination = new LogDestination({
  fd: 1,
  maxBytes: DEFAULT_LOG_BUFFER_BYTES,
  onDrop: (reason, lines) => metrics.logLinesDropped.inc({ reason }, lines),
});

export const rootLogger: Logger = pino(
  {
    level: process.env.EARSHOT_LOG_LEVEL ?? (process.env.VITEST ? 'warn' : 'info'),
    base: { svc: 'earshot' },
    redact: { paths: ['token', 'authorization', 'headers.authorization', '*.token'], censor: '[redacted]' },
  },
  logDestination,
);

/** Applies the configured bound (`ops.logBufferBytes`). */
export function configureLogging(opts: { logBufferBytes: number }): void {
  logDestination.maxBytes = opts.logBufferBytes;
}

/** Lets queued lines reach stdout before the process exits, waiting at most `timeoutMs` (a stalled reader). */
export function flushLogs(timeoutMs = 500): Promise<void> {
  return logDestination.flush(timeoutMs);
}

export function callLogger(callId: string, wire?: string): Logger {
  return rootLogger.child(wire ? { callId, wire } : { callId });
}
