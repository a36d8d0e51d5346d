// The live monitor at /ui: one static page (gateway/monitor/index.html, no build step) behind the API token, fed by
// a JSON snapshot and one server-sent event stream of every call's rows and events, in batches every 100 ms. Its actions (stop the prompt,
// hang up) are the control API's own commands. Rows are kept current from the calls' events always (cheap: events
// are rare); they are serialised only for someone watching, and a watcher that does not read is dropped.
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Call } from '../call/Call.js';
import { sseWriter } from '../control/sse.js';
import type { Gateway, Plugin } from '../Gateway.js';
import { PROJECT_ROOT } from '../models.js';
import { HttpError, sendJson } from '../ops/http.js';
import { CallBoard, type CallRow } from '../monitor/CallBoard.js';
import type { CallEvent } from '../call/events.js';
import { checkOne } from '../evidence/checkOne.js';
import type { EvidenceLedger } from '../evidence/EvidenceLedger.js';

/** Monitor pages open at once; each is one stream. */
const MAX_WATCHERS = 16;
/** Per-frame plots open at once, all calls together (each is one call's 31 frames a second). */
const MAX_PLOTS = 16;
/** Frames sent together: six 32 ms frames (192 ms), so a plot costs five writes a second, not 31. */
const FRAMES_PER_MESSAGE = 6;
/**
 * Call updates go out together, this often: at 100 calls the board changes a few hundred times a second, and one
 * message per change per page was that many JSON encodings, writes and page wake-ups; a batch is one of each.
 */
const FLUSH_MS = 100;
/** Events held for the next batch, all calls together; past it they are dropped and the batch says how many. */
const MAX_PENDING_EVENTS = 2000;

export class MonitorFeature implements Plugin {
  readonly name = 'monitor';
  readonly board = new CallBoard();
  private readonly watchers = new Set<(text: string) => void>();
  private readonly closers = new Set<() => void>();
  private plots = 0;
  /** The next batch: each changed call's row (the live object, so it goes out as of the flush) and the events. */
  private readonly pendingRows = new Map<string, CallRow>();
  private pendingEvents: [callId: string, event: CallEvent, at: number][] = [];
  private droppedEvents = 0;
  private flushTimer: NodeJS.Timeout | null = null;
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
    r.add('GET', '/ui/calls/:callId/frames', (req, res, p) => this.frames(gw, req, res, p.callId));
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
    this.broadcast(row, null);
    call.observe((ev) => {
      const r = this.board.event(call.id, ev);
      if (r) this.broadcast(r, ev);
    });
  }

  private broadcast(row: CallRow, event: CallEvent | null): void {
    if (!this.watchers.size) return;
    this.pendingRows.set(row.callId, row);
    // `at`: the gateway's wall clock when the event happened, so a page can tell how late its updates arrive.
    if (event) {
      if (this.pendingEvents.length < MAX_PENDING_EVENTS) this.pendingEvents.push([row.callId, event, Date.now()]);
      else this.droppedEvents++;
    }
    this.flushTimer ??= setTimeout(() => this.flush(), FLUSH_MS);
  }

  /** One message for every page: the rows that changed (as they are now) and the events since the last batch. */
  private flush(): void {
    this.flushTimer = null;
    if (this.watchers.size && (this.pendingRows.size || this.pendingEvents.length)) {
      const text = `event: calls\ndata: ${JSON.stringify({ rows: [...this.pendingRows.values()], events: this.pendingEvents, dropped: this.droppedEvents })}\n\n`;
      for (const w of this.watchers) w(text);
    }
    this.pendingRows.clear();
    this.pendingEvents = [];
    this.droppedEvents = 0;
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
   * One live call's VAD frames (speech probability, echo verdict, peak inbound level) while this stream is open:
   * the call measures and sends them only while someone watches it.
   */
  private frames(gw: Gateway, req: IncomingMessage, res: ServerResponse, callId: string): void {
    const call = gw.calls.get(callId);
    if (!call || call.isEnded) throw new HttpError(404, 'unknown_call', `no call ${callId.slice(0, 64)} in progress`);
    if (this.plots >= MAX_PLOTS) throw new HttpError(503, 'too_many_watchers', `${MAX_PLOTS} call plots are open already`);
    this.plots++;
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    let batch: (number | boolean)[][] = [];
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      this.plots--;
      untap();
      unobserve();
      this.closers.delete(finish);
      res.end();
    };
    const write = sseWriter(gw, res, callId, finish);
    const untap = call.tapFrames((f) => {
      batch.push([f.t, Math.round(f.prob * 1000) / 1000, f.echo, Math.round(f.levelDb * 10) / 10]);
      if (batch.length < FRAMES_PER_MESSAGE) return;
      write(`event: frames\ndata: ${JSON.stringify(batch)}\n\n`);
      batch = [];
    });
    const unobserve = call.observe((ev) => ev.type === 'call_summary' && finish());
    this.closers.add(finish);
    write(`: frames of call ${callId}; each [t ms, speech probability, echo, peak dBFS]\n\n`);
    req.on('close', finish);
    res.on('close', finish);
  }

  async stop(): Promise<void> {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    for (const close of [...this.closers]) close();
  }
}
