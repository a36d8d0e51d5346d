// Asterisk's WebSocket channel (chan_websocket) dialling out, as docs.asterisk.org documents it (Channel Drivers →
// WebSocket; ../shared/WIRES.md §3): a websocket_client with `protocols = media` and Basic credentials,
// `Dial(WebSocket/earshot/c(ulaw)f(json))` — so the control messages are JSON and MEDIA_START carries the channel
// variables (callType, language, callee set on the channel). Media both ways is the codec's raw payload: ulaw for
// 8 kHz runs, slin16 for 16 kHz. Asterisk cuts what it is sent into `optimal_frame_size` frames and drops a partial
// one (reported here as something Asterisk would mangle), plays its queue at real time, answers `MARK_MEDIA` with
// `MEDIA_MARK_PROCESSED` when the mark reaches the head of the queue, drops queue and marks on `FLUSH_MEDIA`, ignores
// text commands over 128 bytes and hangs up on messages over 65,500 bytes or on `HANGUP`.
import { randomUUID } from 'node:crypto';
import type { StartParams } from './types.js';
import { basic, platformWire, type FarEndIO, type PlatformSpec } from './platform.js';

const codec = (p: StartParams) => (p.audio.sampleRate === 8000 ? { name: 'ulaw', frame: 160 } : { name: 'slin16', frame: 640 });

export function asteriskSpec(): PlatformSpec {
  // One spec serves every call of a run: each call's channel is kept by its socket.
  const channels = new WeakMap<FarEndIO, { frame: number; channelId: string }>();
  const bad = (io: FarEndIO, what: string, wall: number) => io.bad(`asterisk: ${what}`, wall);
  return {
    name: 'asterisk',
    path: '/v1/asterisk',
    subprotocol: 'media',
    auth: (token) => ({ headers: basic('asterisk', token) }),
    audio: (p) => (p.audio.sampleRate === 8000 ? { encoding: 'mulaw' } : { encoding: 'pcm16' }),
    start(p, io) {
      const c = codec(p);
      channels.set(io, { frame: c.frame, channelId: p.callId });
      io.send({
        event: 'MEDIA_START',
        connection_id: randomUUID(),
        channel: `WebSocket/earshot/0x${Math.floor(Math.random() * 2 ** 32).toString(16)}`,
        channel_id: p.callId,
        format: c.name,
        optimal_frame_size: c.frame,
        ptime: 20,
        channel_variables: { callType: p.callType, language: p.language, callee: p.callee },
      });
    },
    caller(bytes, io) {
      io.sendBinary(bytes);
    },
    message(data, isBinary, io, wall) {
      if (data.byteLength > 65_500) return bad(io, `a ${data.byteLength}-byte message hangs up the call`, wall);
      const frame = channels.get(io)?.frame ?? 160;
      if (isBinary) {
        if (data.byteLength % frame) bad(io, `${data.byteLength} bytes is not a multiple of ${frame}: the partial frame is dropped`, wall);
        return io.audio(data.subarray(0, data.byteLength - (data.byteLength % frame)), wall);
      }
      if (data.byteLength > 128) return bad(io, `a ${data.byteLength}-byte command is ignored`, wall);
      let m: { command?: unknown; correlation_id?: unknown };
      try {
        m = JSON.parse(data.toString('utf8')) as typeof m;
      } catch {
        return bad(io, `f(json) takes JSON commands, not ${data.toString('utf8')}`, wall);
      }
      if (m.command === 'FLUSH_MEDIA') {
        io.playout.clear('drop', wall);
        io.cleared(wall);
      } else if (m.command === 'MARK_MEDIA' && typeof m.correlation_id === 'string') io.playout.mark(m.correlation_id, wall);
      else if (m.command === 'HANGUP') io.closeSocket(1000);
      else bad(io, `unexpected command ${data.toString('utf8')}`, wall);
    },
    echo(name, played, io) {
      if (played) io.send({ event: 'MEDIA_MARK_PROCESSED', channel_id: channels.get(io)?.channelId, correlation_id: name });
    },
    hangup(io) {
      // The channel hangs up: Asterisk closes the socket.
      io.closeSocket(1000);
    },
  };
}

export const asteriskWire = platformWire(asteriskSpec());
