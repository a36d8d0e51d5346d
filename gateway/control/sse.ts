// Server-Sent Events framing shared by the event streams: the headers, one message per logged event (with its id,
// so a client that reconnects sends `Last-Event-ID`), the `gap` message of a resume that lost events, keepalives,
// and a writer that drops a subscriber who stops reading.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { EventLog, EventPosition, LoggedEvent } from '../call/EventLog.js';
import type { WireContext } from '../call/wire.js';
import { HttpError } from '../ops/http.js';
import { metrics } from '../ops/metrics.js';

/** Comments keep proxies from timing a quiet stream out. */
export const KEEPALIVE_MS = 15_000;

export function openStream(res: ServerResponse, comment: string): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
  res.write(`: ${comment}\n\n`);
  res.flushHeaders?.();
}

/** One SSE message; `data` defaults to the event itself. */
export function sseMessage(e: LoggedEvent, data = e.json): string {
  return `id: ${e.id}\nevent: ${e.type}\ndata: ${data}\n\n`;
}

/**
 * Events after `lastEventId` were lost (evicted from the bounded log, or the id is from before a restart). Sent
 * without an `id:` line, so the client's last event id stays the one it had.
 */
export function gapMessage(lastEventId: string, oldestId: string | null): string {
  return `event: gap\ndata: ${JSON.stringify({ lastEventId, oldestId })}\n\n`;
}

/**
 * Where a reconnecting client resumes: the `Last-Event-ID` header (EventSource sends it itself), else the
 * `lastEventId` query parameter (a first connection cannot set headers). undefined: a fresh stream.
 */
export function resumePosition(req: IncomingMessage, url: URL, log: EventLog): { raw: string; at: EventPosition } | undefined {
  const raw = (req.headers['last-event-id'] as string | undefined) ?? url.searchParams.get('lastEventId') ?? undefined;
  if (raw === undefined || raw === '') return undefined;
  const at = log.parse(raw);
  if (!at) throw new HttpError(400, 'invalid_last_event_id', 'Last-Event-ID must be an id this gateway sent (`<epoch>-<n>`)');
  return { raw, at };
}

/**
 * Writes to an event stream unless its reader is behind: past `limit` bytes queued the stream is dropped (the call
 * goes on; the subscriber may reconnect and resume), so a subscriber that never reads cannot grow the gateway's
 * memory.
 */
export function sseWriter(gw: Pick<WireContext, 'config' | 'log'>, res: Pick<ServerResponse, 'writableLength' | 'destroyed' | 'write' | 'destroy'>, callId: string, onDrop: () => void): (text: string) => void {
  const limit = gw.config.playout.maxSocketBufferBytes;
  let dropped = false;
  return (text) => {
    if (dropped || res.destroyed) return;
    if (res.writableLength > limit) {
      dropped = true;
      metrics.errors.inc({ code: 'sse_slow_consumer' });
      gw.log.warn({ callId, queued: res.writableLength }, 'event stream subscriber is not reading: stream dropped');
      res.destroy();
      onDrop();
      return;
    }
    res.write(text);
  };
}

/**
 * One open event stream: its writer (which drops a reader who stops reading), keepalive comments once it is live,
 * and a single `finish` for every way it ends (the client goes, the writer drops it, its last event is sent).
 */
export class EventStream {
  done = false;
  readonly write: (text: string) => void;
  private unsubscribe: (() => void) | null = null;
  private keepalive: NodeJS.Timeout | null = null;

  /** `subject`: the call id, or `*` for every call's (logs). */
  constructor(gw: Pick<WireContext, 'config' | 'log'>, req: IncomingMessage, private readonly res: ServerResponse, subject: string, private readonly onFinish?: () => void) {
    openStream(res, subject === '*' ? 'events of every call' : `events of call ${subject}`);
    this.write = sseWriter(gw, res, subject, () => this.finish());
    req.on('close', () => this.finish());
    res.on('close', () => this.finish());
  }

  /** Replay done: from now on `subscribe`'s events flow (it returns its unsubscribe), with keepalives. */
  live(subscribe: () => () => void): void {
    if (this.done) return;
    this.unsubscribe = subscribe();
    this.keepalive = setInterval(() => this.write(': keepalive\n\n'), KEEPALIVE_MS);
    this.keepalive.unref();
  }

  finish(): void {
    if (this.done) return;
    this.done = true;
    this.unsubscribe?.();
    if (this.keepalive) clearInterval(this.keepalive);
    this.res.end();
    this.onFinish?.();
  }
}
