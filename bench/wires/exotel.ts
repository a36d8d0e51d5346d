// Exotel's Voicebot applet (bidirectional AgentStream) as Exotel documents it (developer.exotel.com, agentstream
// "WebSocket protocol" and "Stream and Voicebot applet"; ../shared/WIRES.md §6): the applet dials
// `wss://KEY:TOKEN@host/v1/exotel?sample-rate=N` (Basic credentials), sends `connected`, then `start` with the call's
// sids, up to three custom parameters and the media format, then `media` with base64 16-bit PCM every ~100 ms.
// What comes back plays at real time in arrival order: `media` chunks (Exotel asks for multiples of 320 bytes, at
// most 100,000), `mark` echoed once the audio before it has played, `clear` dropping what has not played. The
// caller's hangup is a `stop` and the socket's close.
import { randomBytes } from 'node:crypto';
import { basic, jsonOf, platformWire, type FarEndIO, type PlatformSpec } from './platform.js';

const sid = (p: string) => `${p}${randomBytes(16).toString('hex')}`;
/** Caller audio goes out every 100 ms, as Exotel sends it. */
const FRAMES_PER_MEDIA = 5;

export function exotelSpec(): PlatformSpec {
  const streams = new WeakMap<FarEndIO, { streamSid: string; callSid: string; seq: number; chunk: number; held: Uint8Array[] }>();
  const next = (s: { seq: number }) => String(++s.seq);
  return {
    name: 'exotel',
    path: '/v1/exotel',
    auth: (token) => ({ headers: basic('exotel-api-key', token) }),
    audio: () => ({ encoding: 'pcm16' }),
    opened(io) {
      io.send({ event: 'connected' });
    },
    start(p, io) {
      const s = { streamSid: sid('MZ'), callSid: p.callId, seq: 0, chunk: 0, held: [] as Uint8Array[] };
      streams.set(io, s);
      io.send({
        event: 'start',
        sequence_number: next(s),
        stream_sid: s.streamSid,
        start: {
          stream_sid: s.streamSid,
          call_sid: s.callSid,
          account_sid: sid('AC'),
          from: p.callee,
          to: '+918047491899',
          custom_parameters: { callType: p.callType, language: p.language, callee: p.callee },
          media_format: { encoding: 'audio/x-raw', sample_rate: String(p.audio.sampleRate), bit_rate: '16' },
        },
      });
    },
    caller(bytes, io) {
      const s = streams.get(io);
      if (!s) return;
      s.held.push(Uint8Array.from(bytes));
      if (s.held.length < FRAMES_PER_MEDIA) return;
      const payload = Buffer.concat(s.held.splice(0)).toString('base64');
      s.chunk++;
      io.send({ event: 'media', sequence_number: next(s), stream_sid: s.streamSid, media: { chunk: String(s.chunk), timestamp: String(s.chunk * 100), payload } });
      io.callerLeft(FRAMES_PER_MEDIA);
    },
    message(data, isBinary, io, wall) {
      if (isBinary) return io.bad('exotel takes JSON text frames only', wall);
      const m = jsonOf(data, io, wall);
      if (!m) return;
      const s = streams.get(io);
      if (s && m.stream_sid !== s.streamSid) io.bad(`stream_sid ${String(m.stream_sid)}`, wall);
      if (m.event === 'media') {
        const b64 = (m.media as { payload?: unknown } | undefined)?.payload;
        if (typeof b64 !== 'string') return io.bad('media without payload', wall);
        const bytes = Buffer.from(b64, 'base64');
        if (bytes.byteLength % 320 || bytes.byteLength > 100_000) io.bad(`a media chunk of ${bytes.byteLength} bytes`, wall);
        io.audio(bytes, wall);
      } else if (m.event === 'mark') {
        const name = (m.mark as { name?: unknown } | undefined)?.name;
        if (typeof name === 'string') io.playout.mark(name, wall);
        else io.bad('mark without a name', wall);
      } else if (m.event === 'clear') {
        // Exotel does not say what becomes of pending marks on a clear: they are dropped here.
        io.playout.clear('drop', wall);
        io.cleared(wall);
      } else io.bad(`exotel does not take ${data.toString('utf8').slice(0, 120)}`, wall);
    },
    echo(name, played, io) {
      const s = streams.get(io);
      if (played && s) io.send({ event: 'mark', sequence_number: next(s), stream_sid: s.streamSid, mark: { name } });
    },
    hangup(io) {
      const s = streams.get(io);
      if (s) io.send({ event: 'stop', sequence_number: next(s), stream_sid: s.streamSid, stop: { call_sid: s.callSid, reason: 'callended' } });
      io.closeSocket(1000);
    },
  };
}

export const exotelWire = platformWire(exotelSpec());
