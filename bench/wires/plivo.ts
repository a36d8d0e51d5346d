// Plivo's bidirectional audio stream, as Plivo documents it (plivo.com/docs: the Stream XML element, "Audio
// streaming" events to and from Plivo; ../shared/WIRES.md §5): the stream URL from the answer XML with `?token=`,
// a `start` event with the call's UUID, mediaFormat and the `extraHeaders` string, then `media` events of base64
// μ-law at 8 kHz or L16 at 16 kHz. It plays `playAudio` in order at real time (refusing a contentType or rate
// other than the stream's), answers a `checkpoint` with `playedStream` once the audio before it has played (never
// for audio a clear dropped), and `clearAudio` with `clearedAudio`. The socket closes when the call ends.
import { randomUUID } from 'node:crypto';
import { jsonOf, platformWire, type FarEndIO, type PlatformSpec } from './platform.js';

interface PlivoState {
  streamId: string;
  seq: number;
  chunk: number;
  contentType: string;
  rate: number;
}
const state = new WeakMap<FarEndIO, PlivoState>();
const stateOf = (io: FarEndIO) => state.get(io) ?? { streamId: '', seq: 0, chunk: 0, contentType: '', rate: 0 };

export const plivoSpec: PlatformSpec = {
  name: 'plivo',
  path: '/v1/plivo',
  auth: (token) => ({ query: { token } }),
  audio: (p) => (p.audio.sampleRate === 8000 && p.audio.encoding === 'mulaw' ? { encoding: 'mulaw' } : { encoding: 'pcm16' }),
  start(p, io) {
    const mulaw = p.audio.sampleRate === 8000 && p.audio.encoding === 'mulaw';
    const s: PlivoState = { streamId: randomUUID(), seq: 0, chunk: 0, contentType: mulaw ? 'audio/x-mulaw' : 'audio/x-l16', rate: p.audio.sampleRate };
    state.set(io, s);
    io.send({
      event: 'start',
      sequenceNumber: ++s.seq,
      start: {
        // The bench's call id is the call's UUID, as Plivo would assign it.
        callId: p.callId,
        streamId: s.streamId,
        accountId: 'MA' + randomUUID().replace(/-/g, '').slice(0, 18).toUpperCase(),
        tracks: ['inbound'],
        mediaFormat: { encoding: s.contentType, sampleRate: s.rate },
      },
      // extraHeaders carry letters and digits only: the callee travels without its `+`.
      extra_headers: `callType=${p.callType};language=${p.language};callee=${p.callee.replace(/^\+/, '')}`,
    });
  },
  caller(bytes, io) {
    const s = stateOf(io);
    io.send({
      event: 'media',
      sequenceNumber: ++s.seq,
      streamId: s.streamId,
      media: { track: 'inbound', timestamp: String(Date.now()), chunk: ++s.chunk, payload: Buffer.from(bytes).toString('base64') },
    });
  },
  message(data, isBinary, io, wall) {
    if (isBinary) return io.bad('Plivo takes no binary frames', wall);
    const m = jsonOf(data, io, wall);
    if (!m) return;
    const s = stateOf(io);
    if (m.event === 'playAudio') {
      const media = (m.media ?? {}) as { contentType?: unknown; sampleRate?: unknown; payload?: unknown };
      if (media.contentType !== s.contentType || media.sampleRate !== s.rate || typeof media.payload !== 'string') {
        return io.bad(`playAudio not in the stream's ${s.contentType}/${s.rate}: ${data.toString('utf8').slice(0, 120)}`, wall);
      }
      io.audio(Buffer.from(media.payload, 'base64'), wall);
    } else if (m.event === 'checkpoint' && typeof m.name === 'string') {
      io.playout.mark(m.name, wall);
    } else if (m.event === 'clearAudio') {
      io.playout.clear('drop', wall);
      io.cleared(wall);
      io.send({ event: 'clearedAudio', sequenceNumber: ++s.seq, streamId: s.streamId });
    } else io.bad(`Plivo does not take ${data.toString('utf8')}`, wall);
  },
  echo(name, played, io) {
    const s = stateOf(io);
    if (played) io.send({ event: 'playedStream', sequenceNumber: ++s.seq, streamId: s.streamId, name });
  },
  hangup(io) {
    io.closeSocket(1000);
  },
};

export const plivoWire = platformWire(plivoSpec);
