// jambonz's `listen` verb with bidirectional streaming audio, as jambonz documents it (docs.jambonz.org, verbs/listen
// and "Bidirectional (streaming) audio"; ../shared/WIRES.md §1): subprotocol audio.jambonz.org, `wsAuth` as HTTP
// Basic, one text frame of the call's attributes with the verb's `metadata` merged in flat, then binary L16 mono
// at `sampleRate` both ways. From the application it takes `killAudio` (empties the playout buffer; pending marks
// come back with `"event":"cleared"`), `mark` (echoed with `"event":"playout"` once the audio before it played, at
// once if none is queued) and `disconnect` (jambonz closes the socket).
import { randomBytes } from 'node:crypto';
import { basic, jsonOf, platformWire, type PlatformSpec } from './platform.js';

const sid = () => `${randomBytes(4).toString('hex')}-${randomBytes(2).toString('hex')}-4${randomBytes(2).toString('hex').slice(1)}-a${randomBytes(2).toString('hex').slice(1)}-${randomBytes(6).toString('hex')}`;

export const jambonzSpec: PlatformSpec = {
  name: 'jambonz',
  path: '/v1/jambonz',
  subprotocol: 'audio.jambonz.org',
  auth: (token) => ({ headers: basic('jambonz', token) }),
  audio: () => ({ encoding: 'pcm16' }),
  start(p, io) {
    // The bench's call id is the call's callSid, as jambonz would assign it; the metadata adds earshot's fields.
    io.send({
      sampleRate: p.audio.sampleRate,
      mixType: 'mono',
      callSid: p.callId,
      direction: 'outbound',
      from: '+8675512345678',
      to: p.callee,
      callId: `${sid()}@10.0.0.1`,
      sbcCallid: sid(),
      sipStatus: 200,
      sipReason: 'OK',
      callStatus: 'in-progress',
      callerId: '+8675512345678',
      accountSid: sid(),
      applicationSid: sid(),
      traceId: randomBytes(16).toString('hex'),
      callType: p.callType,
      language: p.language,
      callee: p.callee,
    });
  },
  caller(bytes, io) {
    io.sendBinary(bytes);
  },
  message(data, isBinary, io, wall) {
    if (isBinary) return io.audio(data, wall);
    const m = jsonOf(data, io, wall);
    if (!m) return;
    const name = (m.data as { name?: unknown } | undefined)?.name;
    if (m.type === 'killAudio') {
      io.playout.clear('echo', wall);
      io.cleared(wall);
    } else if (m.type === 'mark' && typeof name === 'string') io.playout.mark(name, wall);
    else if (m.type === 'disconnect') io.closeSocket(1000);
    else io.bad(`jambonz does not take ${data.toString('utf8')}`, wall);
  },
  echo(name, played, io) {
    io.send({ type: 'mark', data: { name, event: played ? 'playout' : 'cleared' } });
  },
  hangup(io) {
    io.closeSocket(1000);
  },
};

export const jambonzWire = platformWire(jambonzSpec);
