// Peer under test: LiveKit agents-js Silero VAD, used the way a LiveKit agent uses it — `silero.VAD.load()`
// once per process, one `vad.stream()` per call, `pushFrame(AudioFrame)` per 20 ms, START_OF_SPEECH read from
// the stream. It is wrapped in the subset of earshot's native protocol the bench needs (start → ready, binary
// caller audio, `speech_started`/`speech_ended` events with `t`, hangup → call_summary) so the same load
// generator and process layout drive both systems. It has no playout: prompts are ignored.
// PEER_VAD=off keeps everything but the VAD (sockets, decoding, the protocol): the bench runs it as the baseline
// that, subtracted, leaves the cost of the VAD stage alone.
// Run: PEER_PORT=8098 node --import tsx bench/peer/livekitSileroServer.ts
import { createServer } from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';
import { initializeLogger, VADEventType } from '@livekit/agents';
import * as silero from '@livekit/agents-plugin-silero';
import { AudioFrame } from '@livekit/rtc-node';
import { decode, type Encoding } from '../../gateway/audio/codec.js';

// A peer stream failing must show up as a failed call in the bench, not take the whole peer process down.
process.on('unhandledRejection', (e) => console.error('peer: unhandled rejection', e));
initializeLogger({ pretty: false, level: 'warn' });
const port = Number(process.env.PEER_PORT ?? 8098);
const vadOn = process.env.PEER_VAD !== 'off';
let ready = false;
const vad = vadOn ? await silero.VAD.load() : null; // plugin defaults: activation 0.5, min speech 50 ms, min silence 550 ms
ready = true;

const http = createServer((req, res) => {
  if (req.url === '/readyz') return void res.writeHead(ready ? 200 : 503).end();
  res.writeHead(404).end();
});
const wss = new WebSocketServer({ server: http, path: '/v1/stream' });

wss.on('connection', (ws: WebSocket) => {
  let enc: Encoding = 'pcm16';
  let rate = 16000;
  let inMs = 0;
  const stream = vad?.stream();
  let open = true;
  const send = (o: Record<string, unknown>) => {
    if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(o));
  };
  void (async () => {
    if (!stream) return;
    for await (const ev of stream) {
      // `timestamp` is the VAD's own audio clock (ms of audio it has processed), the counterpart of earshot's `t`.
      if (ev.type === VADEventType.START_OF_SPEECH) send({ type: 'speech_started', t: ev.timestamp, recvT: inMs });
      else if (ev.type === VADEventType.END_OF_SPEECH) send({ type: 'speech_ended', t: ev.timestamp, recvT: inMs });
    }
  })().catch(() => undefined);
  const finish = () => {
    if (!open) return;
    open = false;
    // close() alone: endInput() closes a writable the plugin keeps locked and rejects asynchronously.
    try {
      stream?.close();
    } catch {
      /* already closed */
    }
  };
  ws.on('message', (data: Buffer, isBinary) => {
    if (isBinary) {
      if (!open) return;
      const pcm = decode(enc, data);
      inMs += (pcm.length * 1000) / rate;
      stream?.pushFrame(new AudioFrame(pcm, rate, 1, pcm.length));
      return;
    }
    const m = JSON.parse(data.toString()) as { type: string; callId?: string; audio?: { encoding: Encoding; sampleRate: number } };
    if (m.type === 'start') {
      enc = m.audio?.encoding ?? 'pcm16';
      rate = m.audio?.sampleRate ?? 16000;
      send({ type: 'ready', callId: m.callId });
    } else if (m.type === 'hangup') {
      finish();
      send({ type: 'call_summary', t: inMs });
      ws.close();
    }
  });
  ws.on('close', finish);
});
http.listen(port, '127.0.0.1');
