// Asterisk AudioSocket (TCP): type (1 byte), length (2 bytes, big-endian), payload. The bench sends what Asterisk
// sends — the call UUID (0x01), signed-linear little-endian audio (0x10 = 8 kHz, 0x12 = 16 kHz), hangup (0x00) —
// after registering the call's parameters with `POST /v1/audiosocket/calls` (AudioSocket has no field for them).
// The gateway's call id is the UUID. Commands and events go through the HTTP control API and SSE (./control.ts).
//
// AudioSocket carries slin only. A μ-law (or A-law) run is transcoded here, both ways — caller frames and prompts
// in, prompt frames out — so the runner keeps seeing the call in its own encoding and `--rate 8k` works too.
import { createHash } from 'node:crypto';
import { connect as tcpConnect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Encoding } from '../../gateway/audio/codec.js';
import { Connecting } from './connect.js';
import { CallControl } from './control.js';
import { promptAs, transcode as convert } from './transcode.js';
import type { StartParams, Wire, WireCall } from './types.js';

// Asterisk's frame kinds (res_audiosocket), spelled out here rather than imported from the gateway's wire.
const HANGUP = 0x00;
const UUID = 0x01;
const ERROR = 0xff;
const SLIN: Record<number, number> = { 8000: 0x10, 16000: 0x12 };
const AUDIO_KINDS = new Set([0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16]);
/** Error codes of the gateway's 0xff frame (gateway/wires/audiosocket.ts AS_ERR). */
const ERR_NAMES: Record<number, string> = { 0x10: 'protocol', 0x11: 'bad_frame', 0x12: 'rejected', 0x13: 'internal' };

function frame(type: number, payload: Uint8Array = new Uint8Array(0)): Buffer {
  const b = Buffer.allocUnsafe(3 + payload.length);
  b[0] = type;
  b.writeUInt16BE(payload.length, 1);
  b.set(payload, 3);
  return b;
}

/** A name-based (v5-style) UUID, so gateway logs and records map back to the bench's call id. */
function uuidFor(callId: string): Buffer {
  const b = createHash('sha1').update(`earshot-bench:${callId}`).digest().subarray(0, 16);
  b[6] = (b[6] & 0x0f) | 0x50;
  b[8] = (b[8] & 0x3f) | 0x80;
  return b;
}

function uuidString(b: Uint8Array): string {
  const h = Buffer.from(b).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** `?audiosocket=host:port` on the target URL (see wireTarget in ./index.ts). */
function tcpAddress(url: string): { host: string; port: number } {
  const a = new URL(url).searchParams.get('audiosocket');
  const m = a ? /^\[?([^\]]+?)\]?:(\d+)$/.exec(a) : null;
  if (!m) throw new Error(`--wire audiosocket: no AudioSocket address in ${url} (expected ?audiosocket=host:port; with --url pass --audiosocket-port)`);
  return { host: m[1], port: Number(m[2]) };
}

export const audiosocketWire: Wire = {
  name: 'audiosocket',
  connect(url, handlers, token) {
    return new Promise((resolve, reject) => {
      let addr: { host: string; port: number };
      try {
        addr = tcpAddress(url);
      } catch (e) {
        return reject(e);
      }
      const ctl = new CallControl(url, token, handlers);
      const sock: Socket = tcpConnect(addr);
      // 20 ms frames must leave as they are written, not when Nagle decides.
      sock.setNoDelay(true);
      let closed = false;
      let farEnd = 'socket closed';
      /** Set at start: the runner's encoding when it is not slin, else null (pass-through). */
      let transcode: Encoding | null = null;
      let slinKind = SLIN[8000];
      let buf: Buffer = Buffer.alloc(0);

      const write = (b: Buffer) => {
        if (!closed && !sock.destroyed) sock.write(b);
      };
      const toSlin = (bytes: Uint8Array) => (transcode ? convert(transcode, 'pcm16', bytes) : bytes);

      const conn = new Connecting(reject, () => sock.destroy());

      sock.on('data', (d: Buffer) => {
        const wall = performance.now();
        buf = buf.length ? Buffer.concat([buf, d]) : d;
        while (buf.length >= 3) {
          const type = buf[0];
          const len = buf.readUInt16BE(1);
          if (buf.length < 3 + len) break;
          const payload = buf.subarray(3, 3 + len);
          buf = buf.subarray(3 + len);
          if (AUDIO_KINDS.has(type)) {
            // One prompt frame per audio frame, in the call's encoding.
            handlers.onAudio(transcode ? convert('pcm16', transcode, payload) : payload, wall);
          } else if (type === ERROR) {
            // Errors reach the event stream as `error` / `rejected {reason}`; this only names why the socket ends.
            farEnd = `error 0x${(payload[0] ?? 0).toString(16)} ${ERR_NAMES[payload[0]] ?? ''}`.trim();
          } else if (type === HANGUP) {
            if (!farEnd.startsWith('error')) farEnd = 'hangup';
          }
        }
      });
      sock.on('close', () => {
        closed = true;
        if (conn.closedBeforeOpen(`AudioSocket ${addr.host}:${addr.port}: closed while connecting`)) return;
        ctl.transportClosed(farEnd);
      });
      sock.on('error', (err) => conn.error(err));
      sock.on('connect', () => {
        conn.open();
        const call: WireCall = {
          async start(p: StartParams) {
            const rate = p.audio.sampleRate;
            if (!SLIN[rate]) throw new Error(`--wire audiosocket: sample rate ${rate} not supported (8000 or 16000)`);
            transcode = p.audio.encoding === 'pcm16' ? null : p.audio.encoding;
            slinKind = SLIN[rate];
            const uuid = uuidFor(p.callId);
            const id = uuidString(uuid);
            // The gateway takes language, call type, callee and rate from here when the UUID arrives.
            await ctl.post('/v1/audiosocket/calls', { uuid: id, callee: p.callee, callType: p.callType, language: p.language, sampleRate: rate });
            const ready = ctl.attach(id); // subscribed before the UUID: the stream carries ready/rejected
            write(frame(UUID, uuid));
            await ready;
          },
          sendAudio(f) {
            write(frame(slinKind, toSlin(f)));
          },
          play(promptId, audio, interruptible) {
            if (audio === null) void ctl.command('play', { promptId, interruptible });
            else void ctl.command('play', { promptId, audio: transcode ? promptAs(transcode, 'pcm16', audio) : audio, interruptible });
          },
          expectConsent(promptId) {
            void ctl.command('expect_consent', { promptId });
          },
          hangup() {
            ctl.hangup(() => write(frame(HANGUP)));
          },
          close() {
            ctl.close();
            if (!closed) sock.end();
            // A gateway that does not answer the FIN must not keep the socket (and onClose) waiting.
            setTimeout(() => sock.destroy(), 1000).unref();
          },
          bufferedBytes: () => sock.writableLength,
        };
        resolve(call);
      });
    });
  },
};
