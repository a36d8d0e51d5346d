// One pino logger for the process; every call-scoped line goes through `callLogger` so it carries callId.
import { pino, type Logger } from 'pino';

export type { Logger };

export const rootLogger: Logger = pino({
  level: process.env.EARSHOT_LOG_LEVEL ?? (process.env.VITEST ? 'warn' : 'info'),
  base: { svc: 'earshot' },
  redact: { paths: ['token', 'authorization', 'headers.authorization', '*.token'], censor: '[redacted]' },
});

export function callLogger(callId: string, wire?: string): Logger {
  return rootLogger.child(wire ? { callId, wire } : { callId });
}
