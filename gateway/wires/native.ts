// earshot's own WebSocket protocol (v1), documented in docs/protocol.md. Text frames are JSON commands and events;
// binary frames are audio in the negotiated encoding.
import type { IncomingMessage } from 'node:http';
import type { WebSocket } from 'ws';
import { z } from 'zod';
import { bytesPerSample, CodecError } from '../audio/codec.js';
import type { Call, CallEvent, CallSink } from '../call/Call.js';
import { isCommandError, parseCommand } from '../call/commands.js';
import { StartMessage } from '../call/start.js';
import type { Wire, WireContext } from '../call/wire.js';
import { clip, closeReason, MAX_ERROR_MESSAGE } from '../ops/clientText.js';
import type { Logger } from '../ops/log.js';
import { metrics } from '../ops/metrics.js';
import { messageBudget, RATE_LIMITED } from './shared/messageBudget.js';
import { setMessageCap } from './shared/messageCap.js';
import { failSlowConsumer } from './shared/slowConsumer.js';
import { WriteGroup } from './shared/WriteGroup.js';

export class NativeWire implements Wire {
  readonly name = 'native';
  readonly path = '/v1/stream';

  connect(ws: WebSocket, req: IncomingMessage, ctx: WireContext): void {
    new NativeConnection(ws, req, ctx);
  }
}

class NativeConnection implements CallSink {
  private call: Call | null = null;
  private log: Logger;
  private startTimer: NodeJS.Timeout;
  private closed = false;
  /** The client stopped reading: nothing more is queued for it, the call is being failed. */
  private overflowed = false;
  /** The client sent too much: nothing more is read from it, and its socket goes shortly after the close frame. */
  private cutOff = false;
  private readonly writes: WriteGroup;

  constructor(
    private readonly ws: WebSocket,
    req: IncomingMessage,
    private readonly gw: WireContext,
  ) {
    this.writes = new WriteGroup(req.socket);
    this.log = gw.log.child({ wire: 'native' });
    const budget = messageBudget(gw.config);
    // Until its `start` is accepted a connection may send only that: a larger message is refused from its header.
    const limits = gw.config.limits;
    setMessageCap(ws, Math.min(limits.maxStartMessageBytes, limits.maxMessageBytes));
    ws.on('message', (data, isBinary) => {
      if (this.closed || this.overflowed) return void metrics.discardedMessages.inc({ wire: 'native' });
      if (!budget.spend((data as Buffer).length, performance.now())) {
        // Read nothing more from it; the error and the close frame still go out before the socket does. Paused
        // through ws, not on the socket: ws resumes a socket it did not pause itself whenever its parser drains, and
        // a flood then went on being parsed and dropped until the socket went (bench/attacks.ts `noReadFlood`).
        this.cutOff = true;
        ws.pause();
        return this.fatal(RATE_LIMITED.code, RATE_LIMITED.message, 1008);
      }
      try {
        this.onMessage(data as Buffer, isBinary);
      } catch (e) {
        this.log.error({ err: e, callId: this.call?.id }, 'message handling failed');
        this.error('internal', (e as Error).message);
      }
    });
    ws.on('close', () => {
      this.closed = true;
      clearTimeout(this.startTimer);
      if (this.call && !this.call.isEnded) void this.call.end('client_gone');
    });
    ws.on('error', (e) => this.log.warn({ err: e.message, callId: this.call?.id }, 'socket error'));
    this.startTimer = setTimeout(() => {
      if (!this.call) {
        this.error('start_timeout', `no start message within ${gw.config.limits.startTimeoutMs} ms`);
        ws.close(4408, 'start timeout');
      }
    }, gw.config.limits.startTimeoutMs);
  }

  // --- CallSink --------------------------------------------------------------------------------------------------
  sendAudio(bytes: Uint8Array): boolean {
    if (this.closed) return true;
    if (this.ws.bufferedAmount > this.gw.config.playout.maxSocketBufferBytes) return false;
    this.writes.hold(bytes.length);
    this.ws.send(bytes, { binary: true });
    return true;
  }
  flushAudio(): void {
    this.writes.flush();
  }
  sendEvent(ev: CallEvent): void {
    this.send(ev);
  }
  close(code: number, reason: string): void {
    if (!this.closed) {
      this.closed = true;
      // Let queued events (call_summary) flush before closing; a client that is not reading gets no handshake.
      if (this.overflowed) this.ws.terminate();
      else {
        this.ws.close(code === 1000 ? 1000 : code, closeReason(reason));
        // A paused socket would never read the client's closing handshake: do not wait 30 s for it.
        if (this.cutOff) setTimeout(() => this.ws.terminate(), 500).unref();
      }
    }
  }

  /** Every event and error goes through here: the socket's buffer is checked on each, not only for audio. */
  private send(obj: unknown): void {
    if (this.closed || this.overflowed || this.ws.readyState !== this.ws.OPEN) return;
    if (this.ws.bufferedAmount > this.gw.config.playout.maxSocketBufferBytes) return this.overflow();
    this.ws.send(JSON.stringify(obj));
  }

  /** The client is not reading what it is sent: its call fails as a slow consumer, or the connection goes. */
  private overflow(): void {
    this.overflowed = true;
    if (failSlowConsumer(this.call, 'client is not reading events fast enough')) return;
    metrics.errors.inc({ code: 'slow_consumer' });
    this.log.warn({ callId: this.call?.id }, 'client is not reading: connection dropped');
    this.closed = true;
    this.ws.terminate();
  }

  /** Ends the call (or, before one, the connection) with an error. */
  private fatal(code: string, message: string, closeCode: number): void {
    const call = this.call;
    if (call && !call.isEnded) return call.fail(code, message, closeCode);
    this.error(code, message);
    this.close(closeCode, code);
  }

  private error(code: string, message: string): void {
    metrics.errors.inc({ code });
    this.send({ type: 'error', code, message: clip(message, MAX_ERROR_MESSAGE), t: this.call?.t ?? 0 });
  }

  private onMessage(data: Buffer, isBinary: boolean): void {
    if (isBinary) return this.onAudio(data);
    let msg: unknown;
    try {
      msg = JSON.parse(data.toString('utf8'));
    } catch {
      return this.error('malformed_json', 'text frame is not valid JSON');
    }
    const type = (msg as { type?: unknown })?.type;
    if (typeof type !== 'string') return this.error('invalid_message', 'message has no "type"');
    if (type === 'start') return this.onStart(msg);
    const call = this.call;
    if (!call) return this.error('not_started', `"${clip(type)}" before "start"`);
    const cmd = parseCommand(msg);
    if (isCommandError(cmd)) return this.error(cmd.code, cmd.message);
    const err = this.gw.command(call, cmd, (e) => this.error(e.code, e.message));
    if (err) this.error(err.code, err.message);
  }

  private onStart(raw: unknown): void {
    if (this.call) return this.error('already_started', 'this connection already carries a call');
    const m = StartMessage.safeParse(raw);
    if (!m.success) {
      const fmt = m.error.issues.some((i) => i.path[0] === 'audio');
      this.error(fmt ? 'unsupported_audio' : 'invalid_start', z.prettifyError(m.error));
      this.ws.close(4400, fmt ? 'unsupported audio format' : 'invalid start');
      return;
    }
    const s = m.data;
    // The same checks as every wire, so an event stream awaiting this id learns the refusal too.
    const refused = this.gw.refuseStart(s.callId);
    if (refused?.code === 'duplicate_call') {
      this.error('duplicate_call', refused.message);
      this.ws.close(4409, 'duplicate call');
      return;
    }
    if (refused) {
      this.send({ type: 'rejected', callId: s.callId, reason: refused.code, t: 0 });
      this.ws.close(1013, refused.code === 'shutting_down' ? 'shutting down' : 'at capacity');
      return;
    }
    clearTimeout(this.startTimer);
    // A call's messages may be as large as a `play` with its audio inline.
    setMessageCap(this.ws, this.gw.config.limits.maxMessageBytes);
    void this.gw.startCall(s, 'native', this, () => this.closed).then((call) => {
      if (call) this.call = call;
    });
  }

  private onAudio(data: Buffer): void {
    const call = this.call;
    if (!call) return this.error('not_started', 'audio before "start"');
    const bps = bytesPerSample(call.format.encoding);
    const ms = (data.length / bps / call.format.sampleRate) * 1000;
    if (ms > this.gw.config.limits.maxInboundFrameMs) {
      return this.error('frame_too_long', `audio frame of ${Math.round(ms)} ms exceeds ${this.gw.config.limits.maxInboundFrameMs} ms; frame dropped`);
    }
    try {
      call.audio(data);
    } catch (e) {
      if (e instanceof CodecError) return this.error(e.code, `${e.message}; frame dropped`);
      throw e;
    }
  }
}
