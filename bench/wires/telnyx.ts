// Telnyx media streaming with bidirectional RTP mode, as Telnyx documents it (developers.telnyx.com: "Stream call
// media over WebSocket", streaming_start; ../shared/WIRES.md §4): `stream_auth_token` as the
// x-telnyx-streaming-auth-token header, `connected`, then `start` with the call_control_id, custom_parameters and
// media_format, then `media` frames of base64 RTP payload — PCMU at 8 kHz, or L16 (big-endian, as RTP carries it)
// at 16 kHz — with sequence_number, chunk and timestamp. It plays `media` from the application in order at real
// time; `clear` drops what has not played and echoes the marks queued behind it at once; a `mark` is echoed once
// the audio before it has played. The caller hanging up is a `stop` frame and the socket's close.
import { randomUUID } from 'node:crypto';
import { jsonOf, platformWire, type FarEndIO, type PlatformSpec } from './platform.js';

interface TelnyxState {
  streamId: string;
  seq: number;
  chunk: number;
  ts: number;
}
const state = new WeakMap<FarEndIO, TelnyxState>();
const stateOf = (io: FarEndIO) => state.get(io) ?? { streamId: '', seq: 0, chunk: 0, ts: 0 };

export const telnyxSpec: PlatformSpec = {
  name: 'telnyx',
  path: '/v1/telnyx',
  auth: (token) => ({ headers: { 'x-telnyx-streaming-auth-token': token } }),
  audio: (p) => (p.audio.sampleRate === 8000 ? { encoding: p.audio.encoding === 'pcm16' ? 'pcm16' : 'mulaw', bigEndian: p.audio.encoding === 'pcm16' } : { encoding: 'pcm16', bigEndian: true }),
  opened(io) {
    io.send({ event: 'connected', version: '1.0.0' });
  },
  start(p, io) {
    const s: TelnyxState = { streamId: randomUUID().toUpperCase(), seq: 1, chunk: 0, ts: 0 };
    state.set(io, s);
    const l16 = p.audio.encoding === 'pcm16';
    io.send({
      event: 'start',
      sequence_number: String(s.seq),
      stream_id: s.streamId,
      start: {
        user_id: randomUUID(),
        // The bench's call id is the call's call_control_id, as Telnyx would assign it.
        call_control_id: p.callId,
        call_session_id: randomUUID(),
        from: '+8675512345678',
        to: p.callee,
        tags: [],
        client_state: Buffer.from('earshot-bench').toString('base64'),
        custom_parameters: { callType: p.callType, language: p.language, callee: p.callee },
        media_format: { encoding: l16 ? 'L16' : 'PCMU', sample_rate: p.audio.sampleRate, channels: 1 },
      },
    });
  },
  caller(bytes, io) {
    const s = stateOf(io);
    io.send({
      event: 'media',
      sequence_number: String(++s.seq),
      stream_id: s.streamId,
      media: { track: 'inbound', chunk: String(++s.chunk), timestamp: String((s.ts += 20)), payload: Buffer.from(bytes).toString('base64') },
    });
  },
  message(data, isBinary, io, wall) {
    if (isBinary) return io.bad('Telnyx takes no binary frames', wall);
    const m = jsonOf(data, io, wall);
    if (!m) return;
    if (m.event === 'media') {
      const payload = (m.media as { payload?: unknown } | undefined)?.payload;
      if (typeof payload !== 'string') return io.bad(`media without a payload: ${data.toString('utf8')}`, wall);
      io.audio(Buffer.from(payload, 'base64'), wall);
    } else if (m.event === 'clear') {
      io.playout.clear('echo', wall);
      io.cleared(wall);
    } else if (m.event === 'mark' && typeof (m.mark as { name?: unknown } | undefined)?.name === 'string') {
      io.playout.mark((m.mark as { name: string }).name, wall);
    } else io.bad(`Telnyx does not take ${data.toString('utf8')}`, wall);
  },
  echo(name, _played, io) {
    const s = stateOf(io);
    io.send({ event: 'mark', sequence_number: String(++s.seq), stream_id: s.streamId, mark: { name } });
  },
  hangup(io) {
    const s = stateOf(io);
    // stop's own fields are not documented; the event name is.
    io.send({ event: 'stop', sequence_number: String(++s.seq), stream_id: s.streamId });
    io.closeSocket(1000);
  },
};

export const telnyxWire = platformWire(telnyxSpec);
