// Asterisk AudioSocket over TCP. Every message is type (1 byte), payload length (2 bytes, big-endian), payload:
//   0x00 hangup · 0x01 call UUID (16 bytes) · 0x03 DTMF (1 ASCII byte) · 0x10 slin 8 kHz ·
//   0x11 slin 12 kHz · 0x12 slin 16 kHz · 0x13 24 kHz · 0x14 32 kHz · 0x15 44.1 kHz · 0x16 48 kHz · 0xff error.
// Rate types as in Asterisk's res_audiosocket (AST_AUDIOSOCKET_KIND_AUDIO_SLIN12 = 0x11, …_SLIN16 = 0x12) and the
// current docs.asterisk.org AudioSocket page; one documentation patch (asterisk/documentation#158) labelled 0x11
// as 16 kHz, which the merged code does not do.
//
// A call starts when the UUID arrives (the UUID, as a string, is the call id). Its rate is 8 kHz unless metadata
// registered beforehand (`POST /v1/audiosocket/calls`) says 16000; audio of another rate is resampled to the
// call's. Outbound prompt audio goes back in the same framing at the call's rate. AudioSocket has no flush: what
// is written plays, so the socket's own write buffer is kept under `audiosocketMaxQueuedMs` (frames that would
// exceed it are dropped and counted) — with the Playout lookahead that bounds audio after a barge-in.
import { BlockList, createServer, isIP, type Server, type Socket } from 'node:net';
import { z } from 'zod';
import { CodecError, floatToInt16, int16ToFloat } from '../audio/codec.js';
import { Resampler } from '../audio/resampler.js';
import type { Call, CallEvent, CallSink } from '../call/Call.js';
import { StartMessage } from '../call/start.js';
import type { Wire, WireContext } from '../call/wire.js';
import { HttpError, readJson, sendJson } from '../ops/http.js';
import type { Logger } from '../ops/log.js';
import { metrics } from '../ops/metrics.js';
import { parseCidr, type WiresConfig } from './config.js';
import { AdmissionBuffer } from './shared/AdmissionBuffer.js';
import { WriteGroup } from './shared/WriteGroup.js';

export const AS = { HANGUP: 0x00, UUID: 0x01, DTMF: 0x03, SLIN8: 0x10, ERROR: 0xff } as const;
export const AS_RATES: Record<number, number> = { 0x10: 8000, 0x11: 12000, 0x12: 16000, 0x13: 24000, 0x14: 32000, 0x15: 44100, 0x16: 48000 };
const RATE_TYPE: Record<number, number> = Object.fromEntries(Object.entries(AS_RATES).map(([t, r]) => [r, Number(t)]));
/** Application error codes sent in a 0xff frame before the server hangs up. */
export const AS_ERR = { protocol: 0x10, bad_frame: 0x11, rejected: 0x12, internal: 0x13 } as const;

/** Whether a peer address is in the allowlist (addresses and CIDR ranges; IPv4-mapped IPv6 counts as IPv4). */
export function sourceAllowlist(entries: string[]): (address: string | undefined) => boolean {
  const list = new BlockList();
  for (const e of entries) {
    const c = parseCidr(e);
    if (c) list.addSubnet(c.address, c.prefix, c.family);
  }
  return (address) => {
    if (!address) return false;
    const v4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
    const a = v4 ?? address;
    const family = isIP(a);
    return family !== 0 && list.check(a, family === 4 ? 'ipv4' : 'ipv6');
  };
}

export function frame(type: number, payload: Uint8Array = new Uint8Array(0)): Buffer {
  const b = Buffer.allocUnsafe(3 + payload.length);
  b[0] = type;
  b.writeUInt16BE(payload.length, 1);
  b.set(payload, 3);
  return b;
}

export function uuidString(b: Uint8Array): string {
  const h = Buffer.from(b).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

const PendingCall = z.object({
  uuid: z.string().regex(/^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$/, 'a UUID'),
  callee: z.string().max(32).optional(),
  callType: z.enum(['marketing', 'notification']).optional(),
  language: z.enum(['zh', 'en']).optional(),
  script: z.string().optional(),
  sampleRate: z.union([z.literal(8000), z.literal(16000)]).optional(),
});
type PendingCall = z.infer<typeof PendingCall>;
const PENDING_TTL_MS = 5 * 60_000;

function normUuid(s: string): string {
  const h = s.replace(/-/g, '').toLowerCase();
  return uuidString(Buffer.from(h, 'hex'));
}

export class AudioSocketWire implements Wire {
  readonly name = 'audiosocket';
  private server: Server | null = null;
  private conns = new Set<AudioSocketConnection>();
  readonly pending = new Map<string, { meta: PendingCall; at: number }>();

  constructor(private readonly cfg: WiresConfig) {}

  /** Call metadata registered ahead of the TCP connection, which carries only a UUID. */
  private routes(gw: WireContext): void {
    gw.router.add('POST', '/v1/audiosocket/calls', async (req, res) => {
      const m = PendingCall.safeParse(await readJson(req));
      if (!m.success) throw new HttpError(400, 'invalid_message', z.prettifyError(m.error));
      const now = Date.now();
      for (const [k, v] of this.pending) if (now - v.at > PENDING_TTL_MS) this.pending.delete(k);
      const uuid = normUuid(m.data.uuid);
      // Registrations live five minutes: bounded by count too, or a client could fill memory within that time.
      const cap = 4 * gw.config.limits.maxCalls;
      if (this.pending.size >= cap && !this.pending.has(uuid)) throw new HttpError(503, 'too_many_pending', `${cap} AudioSocket calls are registered and not connected yet`);
      this.pending.set(uuid, { meta: { ...m.data, uuid }, at: now });
      sendJson(res, 201, { ok: true, uuid, expiresInMs: PENDING_TTL_MS });
    });
  }

  takePending(uuid: string): PendingCall | undefined {
    const p = this.pending.get(uuid);
    this.pending.delete(uuid);
    return p && Date.now() - p.at <= PENDING_TTL_MS ? p.meta : undefined;
  }

  async start(gw: WireContext): Promise<{ port: number } | void> {
    this.routes(gw);
    if (!this.cfg.audiosocket) return;
    const allowed = sourceAllowlist(this.cfg.audiosocketAllow);
    const server = createServer((socket) => {
      // AudioSocket carries no credentials: who may connect is decided by address, before a byte is read.
      if (!allowed(socket.remoteAddress)) {
        metrics.errors.inc({ code: 'audiosocket_refused' });
        gw.log.warn({ peer: socket.remoteAddress }, 'audiosocket connection from an address not in audiosocketAllow: closed');
        socket.destroy();
        return;
      }
      const c = new AudioSocketConnection(socket, gw, this.cfg, this);
      this.conns.add(c);
      socket.on('close', () => this.conns.delete(c));
    });
    // Each connection is a call: no more than the calls the gateway takes, and a few arriving while others end.
    server.maxConnections = gw.config.limits.maxCalls + 16;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.cfg.audiosocketPort, this.cfg.audiosocketHost, () => resolve());
    });
    this.server = server;
    const port = (server.address() as { port: number }).port;
    gw.log.info({ host: this.cfg.audiosocketHost, port }, 'audiosocket listening');
    return { port };
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = null;
    if (!s) return;
    for (const c of this.conns) c.destroy();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}

class AudioSocketConnection implements CallSink {
  private buf: Buffer = Buffer.alloc(0);
  private call: Call | null = null;
  private uuid = '';
  private rate = 8000;
  private closed = false;
  private log: Logger;
  private startTimer: NodeJS.Timeout;
  private inResampler: { from: number; r: Resampler } | null = null;
  private dropStartedAt = 0;
  private readonly writes: WriteGroup;
  readonly counters = { framesIn: 0, framesOut: 0, framesDropped: 0, earlyAudio: 0 };
  /** Audio that arrives during admission, replayed once the call exists. */
  private readonly early = new AdmissionBuffer<{ rate: number; payload: Buffer }>();

  constructor(
    private readonly socket: Socket,
    private readonly gw: WireContext,
    private readonly cfg: WiresConfig,
    private readonly plugin: AudioSocketWire,
  ) {
    this.log = gw.log.child({ wire: 'audiosocket', peer: `${socket.remoteAddress}:${socket.remotePort}` });
    socket.setNoDelay(true);
    this.writes = new WriteGroup(socket);
    socket.on('data', (d) => {
      try {
        this.onData(d);
      } catch (e) {
        this.log.error({ err: e, callId: this.uuid }, 'audiosocket frame handling failed');
        this.abort('internal', (e as Error).message, AS_ERR.internal);
      }
    });
    socket.on('close', () => {
      this.closed = true;
      clearTimeout(this.startTimer);
      if (this.call && !this.call.isEnded) void this.call.end('client_gone');
    });
    socket.on('error', (e) => this.log.warn({ err: e.message, callId: this.uuid }, 'socket error'));
    this.startTimer = setTimeout(() => {
      if (!this.uuid) this.abort('start_timeout', `no UUID within ${gw.config.limits.startTimeoutMs} ms`, AS_ERR.protocol);
    }, gw.config.limits.startTimeoutMs);
  }

  destroy(): void {
    this.closed = true;
    this.socket.destroy();
  }

  private get queueLimit(): number {
    return Math.round((this.rate * 2 * this.cfg.audiosocketMaxQueuedMs) / 1000) + 3;
  }

  // --- CallSink ------------------------------------------------------------------------------------------------
  sendAudio(bytes: Uint8Array): boolean {
    if (this.closed) return true;
    const packet = frame(RATE_TYPE[this.rate] ?? AS.SLIN8, bytes);
    if (this.socket.writableLength - this.writes.heldBytes + packet.length > this.queueLimit) {
      // No flush in AudioSocket: rather drop a frame than let stale audio pile up behind the barge-in.
      this.counters.framesDropped++;
      const now = performance.now();
      if (!this.dropStartedAt) this.dropStartedAt = now;
      return now - this.dropStartedAt < 2000; // a peer that reads nothing for 2 s is a slow consumer
    }
    this.dropStartedAt = 0;
    this.counters.framesOut++;
    this.writes.hold(packet.length);
    this.socket.write(packet);
    return true;
  }

  flushAudio(): void {
    this.writes.flush();
  }

  sendEvent(ev: CallEvent): void {
    if (ev.type === 'rejected') this.log.info({ callId: this.uuid, reason: ev.reason }, 'call rejected');
    else if (ev.type === 'error') this.log.warn({ callId: this.uuid, code: ev.code }, ev.message);
  }

  close(code: number, reason: string): void {
    this.log.info({ callId: this.uuid, reason, code, ...this.counters }, 'audiosocket closed');
    if (this.closed) return;
    this.closed = true;
    if (code === 4403) this.socket.write(frame(AS.ERROR, Uint8Array.of(AS_ERR.rejected)));
    else if (code !== 1000) this.socket.write(frame(AS.ERROR, Uint8Array.of(this.abortErr ?? (code >= 4400 && code < 4500 ? AS_ERR.bad_frame : AS_ERR.internal))));
    this.socket.end(frame(AS.HANGUP));
  }

  // --- inbound -------------------------------------------------------------------------------------------------
  /** The AudioSocket error code of the abort that is ending this call, so the peer hears the real reason. */
  private abortErr: number | null = null;

  private abort(code: string, message: string, errCode: number): void {
    this.abortErr ??= errCode;
    metrics.errors.inc({ code });
    this.log.warn({ callId: this.uuid, code }, message);
    if (this.call && !this.call.isEnded) {
      this.call.emit({ type: 'error', code, message });
      void this.call.end(code, 4400);
      return;
    }
    if (this.closed) return;
    this.closed = true;
    this.socket.write(frame(AS.ERROR, Uint8Array.of(errCode)));
    this.socket.end(frame(AS.HANGUP));
  }

  private onData(d: Buffer): void {
    if (this.closed) return;
    this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
    while (this.buf.length >= 3 && !this.closed) {
      const type = this.buf[0];
      const len = this.buf.readUInt16BE(1);
      if (this.buf.length < 3 + len) break;
      const payload = this.buf.subarray(3, 3 + len);
      this.buf = this.buf.subarray(3 + len);
      this.onFrame(type, payload);
    }
  }

  private onFrame(type: number, payload: Buffer): void {
    switch (type) {
      case AS.HANGUP:
        if (this.call && !this.call.isEnded) void this.call.end('hangup');
        else this.destroy();
        return;
      case AS.UUID:
        return this.onUuid(payload);
      case AS.DTMF: {
        if (payload.length !== 1) return this.abort('bad_frame', `DTMF frame of ${payload.length} bytes (expected 1)`, AS_ERR.bad_frame);
        const digit = String.fromCharCode(payload[0]);
        if (this.call && /^[0-9*#A-D]$/.test(digit)) this.gw.command(this.call, { type: 'dtmf', digit });
        return;
      }
      case AS.ERROR:
        this.log.warn({ callId: this.uuid, code: payload.length ? payload[0] : null }, 'peer reported an error');
        if (this.call && !this.call.isEnded) void this.call.end('peer_error');
        else this.destroy();
        return;
      default:
        if (AS_RATES[type]) return this.onAudio(AS_RATES[type], payload);
        return this.abort('bad_frame', `unknown frame type 0x${type.toString(16).padStart(2, '0')}`, AS_ERR.bad_frame);
    }
  }

  private onUuid(payload: Buffer): void {
    if (this.uuid) return this.abort('protocol', 'second UUID on one connection', AS_ERR.protocol);
    if (payload.length !== 16) return this.abort('bad_frame', `UUID frame of ${payload.length} bytes (expected 16)`, AS_ERR.bad_frame);
    clearTimeout(this.startTimer);
    this.uuid = uuidString(payload);
    this.log = this.log.child({ uuid: this.uuid });
    const meta = this.plugin.takePending(this.uuid);
    const d = this.cfg.audiosocketDefaults;
    this.rate = meta?.sampleRate ?? 8000;
    const s = StartMessage.safeParse({
      type: 'start',
      callId: this.uuid,
      language: meta?.language ?? d.language,
      callType: meta?.callType ?? d.callType,
      callee: meta?.callee,
      script: meta?.script,
      audio: { encoding: 'pcm16', sampleRate: this.rate },
    });
    if (!s.success) return this.abort('invalid_start', z.prettifyError(s.error), AS_ERR.protocol);
    const refused = this.gw.refuseStart(this.uuid);
    if (refused) return this.abort(refused.code, refused.message, AS_ERR.rejected);
    void this.gw.startCall(s.data, 'audiosocket', this, () => this.closed).then((call) => {
      if (!call) return;
      this.call = call;
      for (const a of this.early.drain()) this.onAudio(a.rate, a.payload);
    });
  }

  private onAudio(rate: number, payload: Buffer): void {
    if (!this.uuid) return this.abort('protocol', 'audio before UUID', AS_ERR.protocol);
    if (payload.length % 2 !== 0) return this.abort('bad_frame', `slin frame of ${payload.length} bytes is not whole samples`, AS_ERR.bad_frame);
    const ms = (payload.length / 2 / rate) * 1000;
    if (ms > this.gw.config.limits.maxInboundFrameMs) return this.abort('frame_too_long', `audio frame of ${Math.round(ms)} ms`, AS_ERR.bad_frame);
    const call = this.call;
    if (!call) {
      this.counters.earlyAudio++;
      this.early.push({ rate, payload }, ms);
      return;
    }
    if (call.isEnded) return;
    this.counters.framesIn++;
    let bytes: Uint8Array = payload;
    if (rate !== this.rate) {
      if (!this.inResampler || this.inResampler.from !== rate) {
        this.log.info({ frameRate: rate, callRate: this.rate }, 'audio rate differs from the call rate: resampling');
        this.inResampler = { from: rate, r: new Resampler(rate, this.rate) };
      }
      const pcm = new Int16Array(payload.length / 2);
      for (let i = 0; i < pcm.length; i++) pcm[i] = payload.readInt16LE(i * 2);
      const out = floatToInt16(this.inResampler.r.process(int16ToFloat(pcm)));
      bytes = Buffer.from(out.buffer, out.byteOffset, out.byteLength);
    }
    try {
      call.audio(bytes);
    } catch (e) {
      if (e instanceof CodecError) return this.abort(e.code, e.message, AS_ERR.bad_frame);
      throw e;
    }
  }
}
