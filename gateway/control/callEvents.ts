// GET /v1/calls/:callId/events[?wait=MS] — one call's events as Server-Sent Events, each with an id. A client that
// reconnects with `Last-Event-ID` gets the events it missed (from the bounded event log, also after the call
// ended, within events.endedRetentionMs), then the live ones; a `gap` message says when some were lost.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { EventLog, EventPosition, LoggedEvent } from '../call/EventLog.js';
import type { WireContext } from '../call/wire.js';
import { HttpError, sendJson } from '../ops/http.js';
import { forwardTo, remoteHolder } from './forwarding.js';
import { EventStream, gapMessage, openStream, resumePosition, sseMessage } from './sse.js';

type Context = WireContext & { events: EventLog };

/** Longest a stream opened ahead of its call may wait for it (`?wait=`). */
const MAX_WAIT_MS = 60_000;

/** A call's last event: its stream ends after it. */
const isLast = (e: LoggedEvent) => e.type === 'call_summary' || e.type === 'rejected';

/**
 * With `?wait=MS` the stream may be opened before the call starts (a platform subscribes, then connects the
 * media): it waits up to MS for the call, or carries the single `rejected {reason}` event if the call was refused
 * at start (do-not-call, calling hours, capacity, …), or answers 404. A fresh stream always begins with the call's
 * `ready`, as the native wire's does, whenever it was opened. In a fleet a call held (or refused) by another
 * instance is followed there: the request is forwarded to its holder.
 */
export async function streamCallEvents(gw: Context, req: IncomingMessage, res: ServerResponse, callId: string, url: URL): Promise<void> {
  const resume = resumePosition(req, url, gw.events);
  const live = gw.calls.get(callId);
  if (live && !live.isEnded) return follow(gw, req, res, callId, resume);
  // An ended call whose events are still held: the reconnecting client gets the rest of them.
  if (resume && gw.events.has(callId)) return follow(gw, req, res, callId, resume);
  const w = url.searchParams.get('wait');
  const waitMs = w === null ? 0 : Number(w);
  if (!Number.isInteger(waitMs) || waitMs < 0 || waitMs > MAX_WAIT_MS) throw new HttpError(400, 'invalid_message', `wait must be 0–${MAX_WAIT_MS} ms`);
  // In a fleet the call may be held, or have been refused, by another instance.
  const elsewhere = await remoteHolder(gw, req, callId);
  if (elsewhere?.state === 'live') return forwardTo(gw, req, res, elsewhere, { path: `${url.pathname}${url.search}`, kind: 'events' });
  if (elsewhere?.state === 'rejected') return rejectedStream(gw, res, callId, elsewhere.reason);
  const here = gw.calls.get(callId); // it may have started here while we looked
  if (here && !here.isEnded) return follow(gw, req, res, callId, resume);
  if (!waitMs) throw new HttpError(404, 'unknown_call', `no call ${callId} in progress`);
  if (gw.calls.recentRefusal(callId) !== undefined) return rejectedStream(gw, res, callId); // refused just before
  const started = performance.now();
  const remote = gw.remote && !gw.remote.isForwarded(req) ? gw.remote.awaitRemote(callId, waitMs) : null;
  const cancel = gw.calls.awaitCall(callId, waitMs, (a) => {
    remote?.cancel();
    if ('call' in a) return follow(gw, req, res, callId, undefined);
    // The registry tells waiters before its hooks run, the event log's among them: the refusal is logged (with
    // its id) once this synchronous announcement is over.
    if ('rejected' in a) return queueMicrotask(() => rejectedStream(gw, res, callId, a.rejected));
    sendJson(res, 404, { error: 'unknown_call', message: `no call ${callId} started within ${waitMs} ms` });
  });
  if (!cancel) {
    remote?.cancel();
    res.setHeader('retry-after', '1');
    throw new HttpError(503, 'too_many_waiting', `${gw.config.limits.maxPendingEventStreams} event streams are already waiting for calls to start`);
  }
  req.on('close', () => (cancel(), remote?.cancel()));
  res.on('close', () => (cancel(), remote?.cancel()));
  const found = await remote?.result;
  if (!found || res.headersSent || res.destroyed) return;
  cancel();
  if (found.state === 'rejected') return rejectedStream(gw, res, callId, found.reason);
  // It started on another instance: follow it there, for what is left of the wait.
  const left = Math.max(1, Math.round(waitMs - (performance.now() - started)));
  url.searchParams.set('wait', String(Math.min(left, MAX_WAIT_MS)));
  return forwardTo(gw, req, res, found, { path: `${url.pathname}${url.search}`, kind: 'events' });
}

function rejectedStream(gw: Context, res: ServerResponse, callId: string, reason?: string): void {
  if (res.destroyed) return;
  openStream(res, `events of call ${callId}`);
  const logged = gw.events.first(callId, 'rejected', 'any');
  res.write(logged ? sseMessage(logged) : `event: rejected\ndata: ${JSON.stringify({ type: 'rejected', callId, reason: reason ?? gw.calls.recentRefusal(callId), t: 0 })}\n\n`);
  res.end();
}

/** Streams the call's events: the missed ones when resuming (else its `ready`), then live ones until its last. */
function follow(gw: Context, req: IncomingMessage, res: ServerResponse, callId: string, resume: { raw: string; at: EventPosition } | undefined): void {
  const stream = new EventStream(gw, req, res, callId);
  let replay: LoggedEvent[];
  if (resume) {
    const r = gw.events.callSince(callId, resume.at) ?? { events: [], gap: true };
    if (r.gap) stream.write(gapMessage(resume.raw, r.events[0]?.id ?? null));
    replay = r.events;
  } else {
    // Only the live call's own `ready`: one of an earlier call under the same id is not this stream's.
    const ready = gw.events.first(callId, 'ready', 'live');
    replay = ready ? [ready] : [];
  }
  for (const e of replay) stream.write(sseMessage(e));
  // Its last event sent now, or earlier (a resume after it): nothing more will come.
  if (replay.some(isLast) || (!gw.calls.get(callId) && gw.events.isEnded(callId))) return stream.finish();
  // Replay and subscription happen in one synchronous step: no event can fall between them.
  stream.live(() =>
    gw.events.subscribeCall(callId, (e) => {
      if (stream.done) return;
      stream.write(sseMessage(e));
      if (isLast(e)) stream.finish();
    }),
  );
}
