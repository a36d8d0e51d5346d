// FreeSWITCH's mod_audio_fork (drachtio) and mod_audio_stream as their READMEs and sources document them
// (../shared/WIRES.md §2): the module dials with the metadata given to `uuid_audio_fork` / `uuid_audio_stream` as its
// first text frame, then binary L16 mono at the command's rate. It plays nothing itself: `playAudio` (mod_audio_fork)
// or `streamAudio` (mod_audio_stream) becomes a file and an event, and the dialplan/ESL application plays the files
// in order — here, the playout buffer. `killAudio` breaks the playback (mod_audio_fork sets CF_BREAK; with
// mod_audio_stream the application runs `uuid_break` on the event); files not yet played are dropped with it.
// Neither module has marks. `disconnect` only raises an event; the application stops the fork to hang up.
import { basic, jsonOf, platformWire, type PlatformSpec } from './platform.js';

function freeswitchSpec(module: 'mod_audio_fork' | 'mod_audio_stream'): PlatformSpec {
  const fork = module === 'mod_audio_fork';
  return {
    name: fork ? 'freeswitch' : 'freeswitch-stream',
    path: '/v1/freeswitch',
    subprotocol: fork ? 'audio.drachtio.org' : undefined,
    // mod_audio_fork: MOD_AUDIO_BASIC_AUTH_*; mod_audio_stream: STREAM_EXTRA_HEADERS with a bearer header.
    auth: (token) => ({ headers: fork ? basic('freeswitch', token) : { authorization: `Bearer ${token}` } }),
    audio: () => ({ encoding: 'pcm16' }),
    start(p, io) {
      io.send({ uuid: p.callId, sampleRate: p.audio.sampleRate, callType: p.callType, language: p.language, callee: p.callee });
    },
    caller(bytes, io) {
      io.sendBinary(bytes);
    },
    message(data, isBinary, io, wall) {
      // mod_audio_fork discards binary frames from the server; mod_audio_stream's community edition has no binary playback.
      if (isBinary) return io.bad(`${module} does not play binary frames`, wall);
      const m = jsonOf(data, io, wall);
      if (!m) return;
      const d = (m.data ?? {}) as Record<string, unknown>;
      const want = fork ? 'playAudio' : 'streamAudio';
      if (m.type === want) {
        const b64 = fork ? d.audioContent : d.audioData;
        const kind = fork ? d.audioContentType : d.audioDataType;
        if (kind !== 'raw' || typeof b64 !== 'string' || typeof d.sampleRate !== 'number') return io.bad(`${want} without raw audio: ${data.toString('utf8').slice(0, 120)}`, wall);
        io.audio(Buffer.from(b64, 'base64'), wall);
      } else if (m.type === 'killAudio') {
        io.playout.clear('drop', wall);
        io.cleared(wall);
      } else if (m.type === 'disconnect') {
        // An event for the application, which then stops the fork (and so closes the socket).
        io.closeSocket(1000);
      } else io.bad(`${module} does not take ${data.toString('utf8').slice(0, 120)}`, wall);
    },
    hangup(io) {
      io.closeSocket(1000);
    },
  };
}

export const freeswitchWire = platformWire(freeswitchSpec('mod_audio_fork'));
export const freeswitchStreamWire = platformWire(freeswitchSpec('mod_audio_stream'));
