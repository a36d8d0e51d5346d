// The live monitor at /ui: one static page (gateway/monitor/index.html, no build step) behind the API token, fed by
// a JSON snapshot, one server-sent event stream of the calls' rows (only the rows whose shown state changed, once a
// second), for the one call the page has selected, a stream of that call's events and VAD frames, and for a page's
// watch wall (several calls side by side) one stream carrying all its watched calls' events and frames. Its actions
// (stop the prompt, hang up) are the control API's own commands. Rows are kept current from the calls' events
// always (cheap: events are rare); they are serialised only for someone watching, and a watcher that does not read
// is dropped.
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Call } from '../call/Call.js';
import { sseWriter } from '../control/sse.js';
import type { Gateway, Plugin } from '../Gateway.js';
import { PROJECT_ROOT } from '../models.js';
import { HttpError, sendJson } from '../ops/http.js';
import { CallBoard, changesRow, onTimeline, type CallRow } from '../monitor/CallBoard.js';
import type { CallEvent } from '../call/events.js';
import { checkOne } from '../evidence/checkOne.js';
import type { EvidenceLedger } from '../evidence/EvidenceLedger.js';

/** Monitor pages open at once; each is one stream. */
const MAX_WATCHERS = 16;
/** Live views open at once, all calls together (each is one call's events and 31 frames a second). */
const MAX_VIEWS = 16;
/**
 * Frames sent together: twelve 32 ms frames (384 ms). Each message wakes the page and repaints its plot (a frame
 * through the page's rendering pipeline and the browser's compositor): at six per message the plot alone made five
 * such frames a second on every page; the plot still moves 2.6 times a second.
 */
const FRAMES_PER_MESSAGE = 12;
/**
 * Row changes go out together, this often: the page redraws its table at most once a second anyway (each redraw
 * lays the table out), and at 100 calls a batch per 100 ms was ten wake-ups, parses and draws a second on every
 * page for rows nobody could read that fast. A call's own events go to its live view at once, not batched.
 */
const ROWS_MS = 1000;

/** One watched call on a watch wall: its frames since the last message, and how to close its view. */
interface WatchView {
  batch: (number | boolean)[][];
  detach: () => void;
}
/** A page's watch wall: one stream, several calls' views. */
interface WatchChannel {
  write: (text: string) => void;
  views: Map<string, WatchView>;
  timer: NodeJS.Timeout | null;
}

export class MonitorFeature implements Plugin {
  readonly name = 'monitor';
  readonly board = new CallBoard();
  private readonly watchers = new Set<(text: string) => void>();
  private readonly closers = new Set<() => void>();
  /** Each call's open live views: what to do with each of its events. */
  private readonly views = new Map<string, Set<(ev: CallEvent, at: number) => void>>();
  private viewCount = 0;
  /** Open watch walls (GET /ui/watch), by id. */
  private readonly channels = new Map<string, WatchChannel>();
  /** The next batch: each changed call's row (the live object, so it goes out as of the flush). */
  private readonly pendingRows = new Map<string, CallRow>();
  private flushTimer: NodeJS.Timeout | null = null;
  private lastFlush = 0;
  private page = '';
  private budgets: Record<string, unknown> = {};

  /** `evidence`: the consent evidence store, whose records the page shows with their integrity check. */
  constructor(private readonly opts: { evidence?: () => EvidenceLedger | undefined } = {}) {}

  async start(gw: Gateway): Promise<void> {
    this.page = readFileSync(new URL('../monitor/index.html', import.meta.url), 'utf8');
    try {
      this.budgets = JSON.parse(readFileSync(`${PROJECT_ROOT}/bench/budgets.json`, 'utf8')) as Record<string, unknown>;
    } catch (e) {
      gw.log.warn({ err: (e as Error).message }, 'monitor: bench/budgets.json unreadable; latencies are shown without budgets');
    }
    const r = gw.router;
    r.add('GET', '/ui', (_q, res) => this.servePage(res));
    r.add('GET', '/ui/calls', (_q, res) => sendJson(res, 200, { calls: this.board.rows(), budgets: this.budgets }));
    r.add('GET', '/ui/calls/:callId/timeline', (_q, res, p) => {
      const events = this.board.timeline(p.callId);
      if (!events) throw new HttpError(404, 'unknown_call', `no recent call ${p.callId.slice(0, 64)}`);
      sendJson(res, 200, { callId: p.callId, events });
    });
    r.add('GET', '/ui/stream', (req, res) => this.stream(gw, req, res));
    r.add('GET', '/ui/calls/:callId/live', (req, res, p) => this.liveView(gw, req, res, p.callId));
    r.add('GET', '/ui/watch', (req, res) => this.watchStream(gw, req, res));
    r.add('PUT', '/ui/watch/:watchId/calls/:callId', (_q, res, p) => this.watchCall(gw, res, p.watchId, p.callId));
    r.add('DELETE', '/ui/watch/:watchId/calls/:callId', (_q, res, p) => {
      const ch = this.channels.get(p.watchId);
      if (!ch) throw new HttpError(404, 'unknown_watch', 'no such watch stream (it closed?)');
      this.unwatch(ch, p.callId);
      sendJson(res, 200, { watchId: p.watchId, callId: p.callId, watching: ch.views.size });
    });
    // One record's own check (hash, MAC, audio hash), as `earshot evidence show` does; an operator's click, so
    // hashing one small WAV on the event loop is fine. The whole chain is the CLI's `verify`.
    r.add('GET', '/ui/evidence/:id', async (_q, res, p) => {
      const store = this.opts.evidence?.();
      const record = store ? await store.get(p.id) : null;
      if (!store || !record) throw new HttpError(404, 'not_found', `no evidence ${p.id.slice(0, 64)}`);
      const problem = await checkOne(store, record);
      sendJson(res, 200, { record, verified: problem === null, problem });
    });
  }

  callStarted(call: Call): void {
    const row = this.board.started({ callId: call.id, wire: call.init.wire, callee: call.init.callee, callType: call.init.callType, startedAt: call.startedAt });
    this.rowChanged(row);
    call.observe((ev) => {
      const r = this.board.event(call.id, ev);
      if (!r) return;
      if (changesRow(ev)) this.rowChanged(r);
      const views = this.views.get(call.id);
      // `at`: the gateway's wall clock when the event happened, so a page can tell how late its events arrive.
      if (views && onTimeline(ev)) for (const v of [...views]) v(ev, Date.now());
    });
  }

  private rowChanged(row: CallRow): void {
    if (!this.watchers.size) return;
    this.pendingRows.set(row.callId, row);
    // At most one batch per ROWS_MS, the first after a quiet spell at once (a lone new call is listed without
    // waiting a second).
    this.flushTimer ??= setTimeout(() => this.flush(), Math.max(0, this.lastFlush + ROWS_MS - Date.now()));
  }

  /** One message for every page: the rows whose shown state changed, as they are now. */
  private flush(): void {
    this.flushTimer = null;
    this.lastFlush = Date.now();
    if (this.watchers.size && this.pendingRows.size) {
      const text = `event: rows\ndata: ${JSON.stringify({ rows: [...this.pendingRows.values()], at: Date.now() })}\n\n`;
      for (const w of this.watchers) w(text);
    }
    this.pendingRows.clear();
  }

  private servePage(res: ServerResponse): void {
    // A nonce for the page's own inline script and style: nothing else may run on it (the page shows text that
    // came from callers, e.g. transcripts, and renders it as text only).
    const nonce = randomBytes(16).toString('base64');
    const body = this.page.replaceAll('__NONCE__', nonce);
    res.writeHead(200, {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
      'referrer-policy': 'no-referrer',
      'x-content-type-options': 'nosniff',
      'x-frame-options': 'DENY',
      'content-security-policy': `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'nonce-${nonce}'; connect-src 'self'; media-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
    });
    res.end(body);
  }

  private stream(gw: Gateway, req: IncomingMessage, res: ServerResponse): void {
    if (this.watchers.size >= MAX_WATCHERS) throw new HttpError(503, 'too_many_watchers', `${MAX_WATCHERS} monitor pages are open already`);
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      this.watchers.delete(write);
      this.closers.delete(finish);
      clearInterval(keepalive);
      res.end();
    };
    const write = sseWriter(gw, res, 'monitor', finish);
    write(`event: snapshot\ndata: ${JSON.stringify({ calls: this.board.rows(), budgets: this.budgets })}\n\n`);
    this.watchers.add(write);
    this.closers.add(finish);
    const keepalive = setInterval(() => write(': keepalive\n\n'), 15000);
    keepalive.unref();
    req.on('close', finish);
    res.on('close', finish);
  }

  /**
   * Opens one live view of a call: its events (those shown on a timeline, with the gateway's wall clock) to
   * `onEvent`, and its VAD frames, rounded as a page plots them, to `onFrame`; the call measures its level and hands
   * out frames only while some view is open. Counts against MAX_VIEWS, all pages together. Returns the detach.
   */
  private attachView(gw: Gateway, callId: string, onEvent: (ev: CallEvent, at: number) => void, onFrame: (f: (number | boolean)[]) => void): { timeline: CallEvent[]; detach: () => void } {
    const call = gw.calls.get(callId);
    const timeline = this.board.timeline(callId);
    if (!call || call.isEnded || !timeline) throw new HttpError(404, 'unknown_call', `no call ${callId.slice(0, 64)} in progress`);
    if (this.viewCount >= MAX_VIEWS) throw new HttpError(503, 'too_many_watchers', `${MAX_VIEWS} live views are open already`);
    this.viewCount++;
    const set = this.views.get(callId) ?? new Set();
    set.add(onEvent);
    this.views.set(callId, set);
    const untap = call.tapFrames((f) => onFrame([f.t, Math.round(f.prob * 1000) / 1000, f.echo, Math.round(f.levelDb * 10) / 10]));
    let attached = true;
    return {
      timeline: [...timeline],
      detach: () => {
        if (!attached) return;
        attached = false;
        this.viewCount--;
        untap();
        const s = this.views.get(callId);
        s?.delete(onEvent);
        if (s && !s.size) this.views.delete(callId);
      },
    };
  }

  /**
   * One live call as a page that selected it sees it: its timeline so far, then each of its events as it happens
   * and its VAD frames (speech probability, echo verdict, peak inbound level) twelve at a time. The call measures its
   * level and hands out frames only while such a view is open; the stream ends with the call.
   */
  private liveView(gw: Gateway, req: IncomingMessage, res: ServerResponse, callId: string): void {
    let batch: (number | boolean)[][] = [];
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      view.detach();
      this.closers.delete(finish);
      res.end();
    };
    const write = sseWriter(gw, res, callId, finish);
    const onEvent = (ev: CallEvent, at: number) => {
      // The call's last frames (fewer than a message's twelve) go out before its end, so the plot shows how it ended.
      if (ev.type === 'call_summary' && batch.length) {
        write(`event: frames\ndata: ${JSON.stringify(batch)}\n\n`);
        batch = [];
      }
      write(`event: call\ndata: ${JSON.stringify({ event: ev, at })}\n\n`);
      if (ev.type === 'call_summary') {
        write('event: end\ndata: {}\n\n');
        finish();
      }
    };
    const view = this.attachView(gw, callId, onEvent, (f) => {
      batch.push(f);
      if (batch.length < FRAMES_PER_MESSAGE) return;
      write(`event: frames\ndata: ${JSON.stringify(batch)}\n\n`);
      batch = [];
    });
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    write(`: live view of call ${callId}; frames are [t ms, speech probability, echo, peak dBFS]\n\n`);
    write(`event: timeline\ndata: ${JSON.stringify({ events: view.timeline })}\n\n`);
    this.closers.add(finish);
    req.on('close', finish);
    res.on('close', finish);
  }

  /**
   * A page's watch wall: several live calls' views over one stream. A browser opens at most six HTTP/1.1
   * connections to one host, and the list's stream and the selected call's view take two: one stream per watched
   * call would stall a page watching more than four. The stream first says its id (`hello`); the page then adds and
   * removes calls with PUT / DELETE /ui/watch/:watchId/calls/:callId. Per call: `timeline` (its events so far),
   * `call` (each event at once, with the gateway's time), `end` after its summary (its view closes; the stream
   * stays). Frames of every watched call go out together, one `frames` message per 384 ms ({callId: frames}), so
   * the page wakes and draws all its plots once per batch, not once per call.
   */
  private watchStream(gw: Gateway, req: IncomingMessage, res: ServerResponse): void {
    if (this.channels.size >= MAX_WATCHERS) throw new HttpError(503, 'too_many_watchers', `${MAX_WATCHERS} watch walls are open already`);
    const id = randomBytes(12).toString('base64url');
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      for (const v of ch.views.values()) v.detach();
      ch.views.clear();
      if (ch.timer) clearInterval(ch.timer);
      this.channels.delete(id);
      this.closers.delete(finish);
      clearInterval(keepalive);
      res.end();
    };
    const write = sseWriter(gw, res, 'monitor-watch', finish);
    const ch: WatchChannel = { write, views: new Map(), timer: null };
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    write(`: watch wall; frames are {callId: [[t ms, speech probability, echo, peak dBFS], …]}\n\nevent: hello\ndata: ${JSON.stringify({ watchId: id, maxViews: MAX_VIEWS })}\n\n`);
    this.channels.set(id, ch);
    this.closers.add(finish);
    const keepalive = setInterval(() => write(': keepalive\n\n'), 15000);
    keepalive.unref();
    req.on('close', finish);
    res.on('close', finish);
  }

  /** Adds a live call to a watch wall (idempotent): its timeline now, its events and frames from now on. */
  private watchCall(gw: Gateway, res: ServerResponse, watchId: string, callId: string): void {
    const ch = this.channels.get(watchId);
    if (!ch) throw new HttpError(404, 'unknown_watch', 'no such watch stream (it closed?)');
    if (!ch.views.has(callId)) {
      const view: WatchView = { batch: [], detach: () => undefined };
      const flushOne = () => {
        if (!view.batch.length) return;
        ch.write(`event: frames\ndata: ${JSON.stringify({ [callId]: view.batch })}\n\n`);
        view.batch = [];
      };
      const onEvent = (ev: CallEvent, at: number) => {
        if (ev.type === 'call_summary') flushOne(); // its last frames before its end, as a single view does
        ch.write(`event: call\ndata: ${JSON.stringify({ callId, event: ev, at })}\n\n`);
        if (ev.type === 'call_summary') {
          ch.write(`event: end\ndata: ${JSON.stringify({ callId })}\n\n`);
          this.unwatch(ch, callId);
        }
      };
      const a = this.attachView(gw, callId, onEvent, (f) => view.batch.push(f));
      view.detach = a.detach;
      ch.views.set(callId, view);
      ch.write(`event: timeline\ndata: ${JSON.stringify({ callId, events: a.timeline })}\n\n`);
      ch.timer ??= setInterval(() => this.flushFrames(ch), FRAMES_PER_MESSAGE * 32);
    }
    sendJson(res, 200, { watchId, callId, watching: ch.views.size });
  }

  private unwatch(ch: WatchChannel, callId: string): void {
    const v = ch.views.get(callId);
    if (!v) return;
    v.detach();
    ch.views.delete(callId);
    if (!ch.views.size && ch.timer) {
      clearInterval(ch.timer);
      ch.timer = null;
    }
  }

  /** Every watched call's new frames in one message. */
  private flushFrames(ch: WatchChannel): void {
    const out: Record<string, (number | boolean)[][]> = {};
    let any = false;
    for (const [callId, v] of ch.views) {
      if (!v.batch.length) continue;
      out[callId] = v.batch;
      v.batch = [];
      any = true;
    }
    if (any) ch.write(`event: frames\ndata: ${JSON.stringify(out)}\n\n`);
  }

  async stop(): Promise<void> {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    for (const close of [...this.closers]) close();
  }
}
