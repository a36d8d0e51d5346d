// The far end of a telephony platform's media WebSocket, for the bench and the tests: the platform dials the
// gateway (its own subprotocol and credentials), sends its start metadata, streams the caller's audio in its own
// format, and plays what comes back through a playout buffer that behaves as the platform's documentation says —
// audio plays at real time in arrival order, marks come back once the audio before them has played, the platform's
// clear command drops what has not played. Each platform is a `PlatformSpec` (its message shapes, from its public
// documentation; see ../shared/WIRES.md); this file is the part they share. Commands and events go through the HTTP
// control API and SSE (./control.ts), as a platform's application would drive them.
//
// The platform's clear command is reported to the runner as the event `far_end_clear` (arrival time), so a test can
// hold it against the gateway's commit.
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import { bytesPerSample, type Encoding } from '../../gateway/audio/codec.js';
import { Connecting } from './connect.js';
import { CallControl } from './control.js';
import { zeroMask } from './mask.js';
import { promptAs, swap16, transcode } from './transcode.js';
import type { StartParams, Wire, WireCall } from './types.js';

/** A platform's playout buffer: what the gateway sent plays at real time; marks wait for the audio before them. */
export class PlayoutBuffer {
  private playEnd = 0;
  private pending: { name: string; timer: NodeJS.Timeout }[] = [];

  /** `echo(name, played)`: a mark comes back; `played` false when a clear dropped the audio before it. */
  constructor(private readonly echo: (name: string, played: boolean) => void) {}

  /** `ms` of audio arrived at `now`: it plays once what is queued before it has. */
  queue(ms: number, now = performance.now()): void {
    this.playEnd = Math.max(now, this.playEnd) + ms;
  }

  /** Audio still queued at `now`, ms. */
  queuedMs(now = performance.now()): number {
    return Math.max(0, this.playEnd - now);
  }

  mark(name: string, now = performance.now()): void {
    const p = {
      name,
      timer: setTimeout(() => {
        this.pending = this.pending.filter((x) => x !== p);
        this.echo(name, true);
      }, this.queuedMs(now)),
    };
    this.pending.push(p);
  }

  /** Drops what has not played. Pending marks come back at once (`echo`) or are forgotten (`drop`). */
  clear(marks: 'echo' | 'drop', now = performance.now()): void {
    this.playEnd = now;
    for (const p of this.pending.splice(0)) {
      clearTimeout(p.timer);
      if (marks === 'echo') this.echo(p.name, false);
    }
  }

  stop(): void {
    this.clear('drop');
  }
}

/** How a platform carries the run's audio: its encoding, and whether its 16-bit samples are big-endian (RTP L16). */
export interface PlatformAudio {
  encoding: Encoding;
  bigEndian?: boolean;
}

/** What a platform's spec may do on its socket. */
export interface FarEndIO {
  readonly playout: PlayoutBuffer;
  /** A text frame (objects as JSON) to the gateway. */
  send(msg: unknown): void;
  /** A binary frame to the gateway. */
  sendBinary(bytes: Uint8Array): void;
  /** A spec that holds caller frames to send them in chunks says when `frames` of them left (just sent). */
  callerLeft(frames: number): void;
  /** Prompt audio arrived, in the platform's format. */
  audio(bytes: Uint8Array, wall: number): void;
  /** The platform's clear command arrived. */
  cleared(wall: number): void;
  /** Something the platform would reject arrived. */
  bad(what: string, wall: number): void;
  /** The platform closes its side (its hangup). */
  closeSocket(code?: number): void;
}

export interface PlatformSpec {
  name: string;
  /** The gateway's path for it. */
  path: string;
  subprotocol?: string;
  /** How the token travels on the upgrade. */
  auth(token: string): { headers?: Record<string, string>; query?: Record<string, string> };
  /** The platform's format for a run's rate, or an error message when it cannot carry the run. */
  audio(p: StartParams): PlatformAudio | string;
  /** What the platform sends once the socket is open, before its start (e.g. `connected`). */
  opened?(io: FarEndIO): void;
  start(p: StartParams, io: FarEndIO): void;
  /** One 20 ms caller frame, already in the platform's format. */
  caller(bytes: Uint8Array, io: FarEndIO): void;
  /** A message from the gateway. */
  message(data: Buffer, isBinary: boolean, io: FarEndIO, wall: number): void;
  /** A mark came back out of the playout buffer (`played` false: a clear dropped the audio before it). */
  echo?(name: string, played: boolean, io: FarEndIO): void;
  /** The caller hung up (sent only when the gateway has not closed the socket after the control API's hangup). */
  hangup(io: FarEndIO): void;
}

export function platformWire(spec: PlatformSpec): Wire {
  return {
    name: spec.name,
    connect(url, handlers, token) {
      return new Promise((resolve, reject) => {
        const u = new URL(url);
        const target = new URL(spec.path, `${u.protocol}//${u.host}`);
        const auth = token ? spec.auth(token) : {};
        for (const [k, v] of Object.entries(auth.query ?? {})) target.searchParams.set(k, v);
        const ws = new WebSocket(target, spec.subprotocol ? [spec.subprotocol] : [], { headers: auth.headers, perMessageDeflate: false, generateMask: zeroMask });
        ws.binaryType = 'nodebuffer';
        const ctl = new CallControl(url, token, handlers);
        let closed = false;
        let run: { encoding: Encoding; rate: number } = { encoding: 'pcm16', rate: 16000 };
        let plat: PlatformAudio = { encoding: 'pcm16' };
        const toPlatform = (b: Uint8Array) => {
          const x = transcode(run.encoding, plat.encoding, b);
          return plat.bigEndian ? swap16(x) : x;
        };
        const fromPlatform = (b: Uint8Array) => transcode(plat.encoding, run.encoding, plat.bigEndian ? swap16(b) : b);

        const playout = new PlayoutBuffer((name, played) => spec.echo?.(name, played, io));
        const io: FarEndIO = {
          playout,
          send(msg) {
            if (!closed && ws.readyState === WebSocket.OPEN) ws.send(typeof msg === 'string' ? msg : JSON.stringify(msg));
          },
          sendBinary(bytes) {
            if (!closed && ws.readyState === WebSocket.OPEN) ws.send(bytes, { binary: true });
          },
          callerLeft(frames) {
            handlers.onCallerLeft?.(frames, performance.now());
          },
          audio(bytes, wall) {
            io.playout.queue((bytes.byteLength / bytesPerSample(plat.encoding) / run.rate) * 1000, wall);
            handlers.onAudio(fromPlatform(bytes), wall);
          },
          cleared(wall) {
            handlers.onEvent({ type: 'far_end_clear' }, wall);
          },
          bad(what, wall) {
            handlers.onEvent({ type: 'bench_bad_json', raw: what.slice(0, 200) }, wall);
          },
          closeSocket(code = 1000) {
            if (!closed) ws.close(code);
          },
        };
        const conn = new Connecting(reject, () => ws.terminate());
        ws.on('message', (data: Buffer, isBinary: boolean) => spec.message(data, isBinary, io, performance.now()));
        ws.on('close', (code, reason) => {
          closed = true;
          io.playout.stop();
          if (conn.closedBeforeOpen(`closed while connecting (${code})`)) return;
          ctl.transportClosed(`${code} ${reason.toString()}`);
        });
        ws.on('error', (err) => conn.error(err));
        ws.on('open', () => {
          conn.open();
          spec.opened?.(io);
          const call: WireCall = {
            async start(p: StartParams) {
              const a = spec.audio(p);
              if (typeof a === 'string') throw new Error(`--wire ${spec.name}: ${a}`);
              plat = a;
              run = { encoding: p.audio.encoding, rate: p.audio.sampleRate };
              // The event stream first, as a platform's application subscribes before the media connects.
              const ready = ctl.attach(p.callId);
              spec.start(p, io);
              await ready;
            },
            sendAudio(frame) {
              if (!closed) spec.caller(toPlatform(frame), io);
            },
            play(promptId, audio, interruptible) {
              // Prompt audio is in the call's encoding, which for the gateway is the platform's (pcm16 little-endian).
              const body = audio === null ? { promptId, interruptible } : { promptId, audio: promptAs(run.encoding, plat.encoding, audio), interruptible };
              void ctl.command('play', body);
            },
            expectConsent(promptId) {
              return ctl.command('expect_consent', { promptId });
            },
            hangup() {
              ctl.hangup(() => spec.hangup(io));
            },
            close() {
              ctl.close();
              io.playout.stop();
              if (!closed) ws.close(1000, 'bench done');
            },
            bufferedBytes: () => ws.bufferedAmount,
          };
          resolve(call);
        });
      });
    },
  };
}

/** HTTP Basic credentials carrying the token as the password. */
export function basic(user: string, token: string): Record<string, string> {
  return { authorization: `Basic ${Buffer.from(`${user}:${token}`).toString('base64')}` };
}

/** A text frame as JSON, or null (reported to the runner) when it is not. */
export function jsonOf(data: Buffer, io: FarEndIO, wall: number): Record<string, unknown> | null {
  try {
    const m = JSON.parse(data.toString('utf8')) as unknown;
    if (m && typeof m === 'object' && !Array.isArray(m)) return m as Record<string, unknown>;
  } catch {
    // reported below
  }
  io.bad(data.toString('utf8'), wall);
  return null;
}
