// The native earshot WebSocket protocol (`/v1/stream`): JSON text frames for control and events, binary frames
// for audio both ways. Being the native shape, this adapter is a thin pass-through.
import WebSocket from 'ws';
import { zeroMask } from './mask.js';
import { performance } from 'node:perf_hooks';
import { Connecting } from './connect.js';
import { parseEvent, ReadyGate } from './ready.js';
import type { StartParams, Wire, WireCall } from './types.js';

function streamUrl(url: string): string {
  // Accept either the server root or the full stream path.
  return /\/v1\/stream\/?$/.test(url) ? url : url.replace(/\/$/, '') + '/v1/stream';
}

export const wsWire: Wire = {
  name: 'ws',
  connect(url, handlers, token) {
    return new Promise((resolve, reject) => {
      const headers = token ? { authorization: `Bearer ${token}` } : undefined;
      const ws = new WebSocket(streamUrl(url), { headers, perMessageDeflate: false, generateMask: zeroMask });
      ws.binaryType = 'nodebuffer';
      const ready = new ReadyGate();
      let closed = false;
      const conn = new Connecting(reject, () => ws.terminate());
      ws.on('message', (data: Buffer, isBinary: boolean) => {
        const wall = performance.now();
        if (isBinary) {
          handlers.onAudio(data, wall);
          return;
        }
        const ev = parseEvent(data.toString('utf8'));
        ready.see(ev);
        handlers.onEvent(ev, wall);
      });
      ws.on('close', (code, reason) => {
        closed = true;
        if (conn.closedBeforeOpen(`closed while connecting (${code})`)) return;
        ready.fail(new Error(`closed before ready (${code} ${reason.toString()})`));
        handlers.onClose(`${code} ${reason.toString()}`);
      });
      ws.on('error', (err) => conn.error(err));
      ws.on('open', () => {
        conn.open();
        const send = (o: unknown) => {
          if (!closed && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(o));
        };
        const call: WireCall = {
          start(p: StartParams) {
            return ready.wait(() => send({ type: 'start', ...p }));
          },
          sendAudio(frame) {
            if (!closed && ws.readyState === WebSocket.OPEN) ws.send(frame, { binary: true });
          },
          play(promptId, audio, interruptible) {
            send(audio === null ? { type: 'play', promptId, interruptible } : { type: 'play', promptId, audio, interruptible });
          },
          expectConsent(promptId) {
            send({ type: 'expect_consent', promptId });
          },
          hangup() {
            send({ type: 'hangup' });
          },
          close() {
            if (!closed) ws.close(1000, 'bench done');
          },
          bufferedBytes: () => ws.bufferedAmount,
        };
        resolve(call);
      });
    });
  },
};
