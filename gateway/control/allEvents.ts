// GET /v1/events[?type=a,b][&callId=x,y] — every call's events (refusals at start included) on one Server-Sent
// Events stream, filtered by event type and call, each message `{callId, event}` with the event's id. A client that
// reconnects with `Last-Event-ID` (or `?lastEventId=`) gets what it missed from the bounded event log, then live
// events; a `gap` message says when some were lost. Streams are capped (events.maxStreams), a subscriber that does
// not read is dropped, and the stream stays open until the client or the gateway closes it.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { EventLog, LoggedEvent } from '../call/EventLog.js';
import { CALL_EVENT_TYPES, type CallEventType } from '../call/events.js';
import type { WireContext } from '../call/wire.js';
import { HttpError } from '../ops/http.js';
import { EventStream, gapMessage, resumePosition, sseMessage } from './sse.js';

type Context = WireContext & { events: EventLog };

/** Call ids one stream may name: a filter, not a query language. */
const MAX_CALL_IDS = 100;

/** `a,b` and repeated parameters alike; null when the parameter is absent. */
function list(url: URL, name: string): string[] | null {
  const values = url.searchParams.getAll(name).flatMap((v) => v.split(',')).map((v) => v.trim()).filter(Boolean);
  return values.length ? values : null;
}

export interface EventFilter {
  types: ReadonlySet<CallEventType> | null;
  callIds: ReadonlySet<string> | null;
}

export function parseFilter(url: URL): EventFilter {
  const types = list(url, 'type');
  const unknown = types?.filter((t) => !(CALL_EVENT_TYPES as readonly string[]).includes(t)) ?? [];
  if (unknown.length) throw new HttpError(400, 'invalid_message', `unknown event type ${JSON.stringify(unknown[0].slice(0, 64))}; known: ${CALL_EVENT_TYPES.join(', ')}`);
  const callIds = list(url, 'callId');
  if (callIds && callIds.length > MAX_CALL_IDS) throw new HttpError(400, 'invalid_message', `at most ${MAX_CALL_IDS} callId values`);
  return { types: types ? new Set(types as CallEventType[]) : null, callIds: callIds ? new Set(callIds) : null };
}

export const matches = (f: EventFilter, e: LoggedEvent): boolean => (!f.types || f.types.has(e.type)) && (!f.callIds || f.callIds.has(e.callId));

/** The message's data: the call it belongs to (most events do not name it) and the event as the call sent it. */
const envelope = (e: LoggedEvent) => `{"callId":${JSON.stringify(e.callId)},"event":${e.json}}`;

export function registerAllEvents(gw: Context): void {
  let open = 0;
  gw.router.add('GET', '/v1/events', (req: IncomingMessage, res: ServerResponse, _p, url: URL) => {
    const filter = parseFilter(url);
    const resume = resumePosition(req, url, gw.events);
    if (open >= gw.config.events.maxStreams) {
      res.setHeader('retry-after', '5');
      throw new HttpError(503, 'too_many_streams', `${gw.config.events.maxStreams} streams of every call's events are open already`);
    }
    open++;
    const stream = new EventStream(gw, req, res, '*', () => open--);
    if (resume) {
      const r = gw.events.since(resume.at);
      if (r.gap) stream.write(gapMessage(resume.raw, r.events[0]?.id ?? null));
      for (const e of r.events) if (matches(filter, e)) stream.write(sseMessage(e, envelope(e)));
    }
    // Replay and subscription in one synchronous step: no event can fall between them.
    stream.live(() =>
      gw.events.subscribe((e) => {
        if (!stream.done && matches(filter, e)) stream.write(sseMessage(e, envelope(e)));
      }),
    );
  });
}
