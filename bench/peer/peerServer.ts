// A peer VAD wrapped in the subset of earshot's native protocol the bench needs (start → ready, binary caller
// audio, `speech_started`/`speech_ended` events with `t`, hangup → call_summary), so the same load generator and
// process layout drive earshot and every peer. A peer has no playout: prompts are ignored. Each peer is one file
// that supplies a `PeerVad`; this file is the protocol around it.
// PEER_VAD=off keeps everything but the VAD (sockets, decoding, the protocol): the bench runs it as the baseline
// that, subtracted, leaves the cost of the VAD stage alone.
import { createServer } from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';
import { decode, type Encoding } from '../../gateway/audio/codec.js';

export interface PeerEvent {
  type: 'speech_started' | 'speech_ended';
  /** The peer's own audio clock at the decision, ms: the counterpart of earshot's `t`. */
  t: number;
}

/** One call's VAD in the peer, used the way that project documents it. */
export interface PeerStream {
  push(pcm: Int16Array): void;
  close(): void;
}

export interface PeerVad {
  open(sampleRate: number, emit: (ev: PeerEvent) => void): PeerStream;
}

export function servePeer(load: () => Promise<PeerVad>): void {
  // A peer stream failing must show up as a failed call in the bench, not take the whole peer process down.
  process.on('unhandledRejection', (e) => console.error('peer: unhandled rejection', e));
  const port = Number(process.env.PEER_PORT ?? 8098);
  const vadOn = process.env.PEER_VAD !== 'off';
  let vad: PeerVad | null = null;
  let ready = !vadOn;
  if (vadOn) {
    void load().then((v) => {
      vad = v;
      ready = true;
    });
  }
  const http = createServer((req, res) => {
    if (req.url === '/readyz') return void res.writeHead(ready ? 200 : 503).end();
    res.writeHead(404).end();
  });
  const wss = new WebSocketServer({ server: http, path: '/v1/stream' });
  wss.on('connection', (ws: WebSocket) => {
    let enc: Encoding = 'pcm16';
    let rate = 16000;
    let inMs = 0;
    let stream: PeerStream | null = null;
    let open = true;
    const send = (o: Record<string, unknown>) => {
      if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(o));
    };
    const finish = () => {
      if (!open) return;
      open = false;
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
        stream?.push(pcm);
        return;
      }
      const m = JSON.parse(data.toString()) as { type: string; callId?: string; audio?: { encoding: Encoding; sampleRate: number } };
      if (m.type === 'start') {
        enc = m.audio?.encoding ?? 'pcm16';
        rate = m.audio?.sampleRate ?? 16000;
        stream = vad?.open(rate, (ev) => send({ ...ev, recvT: inMs })) ?? null;
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
}
