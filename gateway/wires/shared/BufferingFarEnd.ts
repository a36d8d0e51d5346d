// The CallSink of WebSocket wires whose far end buffers our prompt audio and echoes marks once what was queued
// before them has played (Twilio Media Streams, Vonage). Backpressure, heard tracking, `clear` on barge-in and
// closing are the same for both; a wire supplies only its message shapes.
import type WebSocket from 'ws';
import type { Call, CallEvent, CallSink } from '../../call/Call.js';
import type { WireContext } from '../../call/wire.js';
import { clip, closeReason, MAX_ERROR_MESSAGE } from '../../ops/clientText.js';
import type { Logger } from '../../ops/log.js';
import { metrics } from '../../ops/metrics.js';
import { HeardTracker, type MarkKind } from './HeardTracker.js';
import { messageBudget, RATE_LIMITED } from './messageBudget.js';
import { failSlowConsumer } from './slowConsumer.js';
import { WriteGroup, type Corkable } from './WriteGroup.js';

export abstract class BufferingFarEnd implements CallSink {
  protected call: Call | null = null;
  protected closed = false;
  protected abstract log: Logger;
  protected readonly heard: HeardTracker;
  /** What went out: prompt frames, marks, clears (in the close log line with the wire's own counters). */
  readonly out = { frames: 0, marks: 0, clears: 0 };
  private readonly writes: WriteGroup;

  /** `socket`: the connection under `ws` (the upgrade request's), whose writes a pacer tick groups. */
  constructor(
    protected readonly ws: WebSocket,
    private readonly socket: Corkable,
    protected readonly gw: WireContext,
    markEveryFrames: number,
  ) {
    this.writes = new WriteGroup(socket);
    this.heard = new HeardTracker(
      markEveryFrames,
      (endMs, kind, promptId) => {
        this.out.marks++;
        this.writeMark(endMs, kind, promptId);
      },
      (ev) => this.call?.emit(ev),
    );
  }

  protected startTimer: NodeJS.Timeout | undefined;
  protected abstract onMessage(data: Buffer, isBinary: boolean): void;

  /** What to add to a log line written before the call's own logger exists. */
  protected logContext(): Record<string, unknown> {
    return {};
  }

  /**
   * Ends this stream (and its call) with a reason. These wires have no error message: the close frame says why
   * (`code: message`), and the call, if it started, gets an `error` event its observers see.
   */
  protected abort(code: string, full: string, closeCode: number): void {
    const message = clip(full, MAX_ERROR_MESSAGE);
    metrics.errors.inc({ code });
    this.log.warn({ ...this.logContext(), code }, message);
    if (this.call && !this.call.isEnded) {
      this.call.emit({ type: 'error', code, message });
      void this.call.end(code, closeCode);
      return;
    }
    if (!this.closed) {
      this.closed = true;
      this.ws.close(closeCode, closeReason(`${code}: ${message}`));
    }
  }

  /**
   * Socket plumbing: a message that throws ends only this call; a vanished client ends its call; no start within
   * the limit (while `waiting()`) ends the stream. Called by the wire once its logger is set.
   */
  protected attach(wire: string, waiting: () => boolean, startWhat: string): void {
    const budget = messageBudget(this.gw.config);
    this.ws.on('message', (data, isBinary) => {
      if (this.closed) return void metrics.discardedMessages.inc({ wire });
      if (!budget.spend((data as Buffer).length, performance.now())) {
        // Read nothing more from it; the close frame still goes out, and the socket shortly after. Paused through
        // ws: ws resumes a socket paused under it whenever its parser drains (wires/native.ts says the same).
        this.ws.pause();
        setTimeout(() => this.ws.terminate(), 500).unref();
        return this.abort(RATE_LIMITED.code, RATE_LIMITED.message, 1008);
      }
      try {
        this.onMessage(data as Buffer, isBinary);
      } catch (e) {
        this.log.error({ err: e }, 'message handling failed');
        this.abort('internal', (e as Error).message, 1011);
      }
    });
    this.ws.on('close', () => {
      this.closed = true;
      clearTimeout(this.startTimer);
      if (this.call && !this.call.isEnded) void this.call.end('client_gone');
    });
    this.ws.on('error', (e) => this.log.warn({ err: e.message }, 'socket error'));
    const ms = this.gw.config.limits.startTimeoutMs;
    this.startTimer = setTimeout(() => {
      if (waiting()) this.abort('start_timeout', `no ${startWhat} within ${ms} ms`, 4408);
    }, ms);
  }

  /** One prompt frame in the wire's own message. */
  protected abstract writeAudio(bytes: Uint8Array): void;
  /** The wire's "drop what you have buffered". */
  protected abstract writeClear(): void;
  protected abstract writeMark(endMs: number, kind: MarkKind, promptId: string): void;
  /** Fields for the close log line. */
  protected abstract closeInfo(): Record<string, unknown>;

  sendAudio(bytes: Uint8Array, meta: { promptId: string; offsetMs: number }): boolean {
    if (this.closed) return true;
    if (this.ws.bufferedAmount > this.gw.config.playout.maxSocketBufferBytes) return false;
    this.writes.hold(bytes.length);
    this.writeAudio(bytes);
    this.out.frames++;
    this.heard.frameSent(meta.promptId, meta.offsetMs);
    return true;
  }

  flushAudio(): void {
    this.writes.flush();
  }

  sendEvent(ev: CallEvent): void {
    // These wires have no channel for earshot's events: observers (SSE, scripts) see them through call.observe.
    if (ev.type === 'prompt_finished') {
      // stop_prompt / hangup: drop what the far end holds (a barge-in was cleared already).
      this.heard.finished(ev.promptId, ev.interrupted, ev.playedMs, (id) => this.clearAudio(id));
    } else if (ev.type === 'error') {
      this.log.warn({ code: ev.code }, ev.message);
    }
  }

  clearAudio(promptId: string): void {
    if (this.closed) return;
    this.out.clears++;
    this.writeClear();
    this.heard.cleared(promptId);
  }

  close(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.log.info({ reason, ...this.out, ...this.closeInfo() }, 'stream closed');
    // A far end that is not reading gets no closing handshake to wait for.
    if (this.overflowed) this.ws.terminate();
    else this.ws.close(code === 1000 ? 1000 : Math.max(code, 1000), closeReason(reason));
  }

  /** Set once the far end stopped reading: nothing more is queued for it. */
  private overflowed = false;

  /** Every message to the far end (media, marks, clears) goes through here, and each checks the socket's buffer. */
  protected sendJson(obj: unknown): void {
    if (this.closed || this.overflowed || this.ws.readyState !== this.ws.OPEN) return;
    if (this.ws.bufferedAmount > this.gw.config.playout.maxSocketBufferBytes) return this.overflow();
    this.ws.send(JSON.stringify(obj));
  }

  /** Binary frames (Vonage audio) under the same check. */
  protected sendBinary(bytes: Uint8Array): void {
    if (this.closed || this.overflowed || this.ws.readyState !== this.ws.OPEN) return;
    if (this.ws.bufferedAmount > this.gw.config.playout.maxSocketBufferBytes) return this.overflow();
    this.ws.send(bytes, { binary: true });
  }

  private overflow(): void {
    this.overflowed = true;
    if (failSlowConsumer(this.call, 'the far end is not reading what it is sent')) return;
    metrics.errors.inc({ code: 'slow_consumer' });
    this.log.warn(this.logContext(), 'far end is not reading: stream dropped');
    this.closed = true;
    this.ws.terminate();
  }
}
