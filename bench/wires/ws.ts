// The native earshot WebSocket protocol (`/v1/stream`): JSON text frames for control and events, binary frames
// for audio both ways. Being the native shape, this adapter is a thin pass-through.
import WebSocket from 'ws';
import { performance } from 'node:perf_hooks';
import type { GatewayEvent, StartParams, Wire, WireCall, WireHandlers } from './types.js';

const START_TIMEOUT_MS = 15_000;

function streamUrl(url: string): string {
  // Accept either the server root or the full stream path.
  return /\/v1\/stream\/?$/.test(url) ? url : url.replace(/\/$/, '') + '/v1/stream';
}

export const wsWire: Wire = {
  name: 'ws',
  connect(url, handlers, token) {
    return new Promise((resolve, reject) => {
      const headers = token ? { authorization: `Bearer ${token}` } : undefined;
      const ws = new WebSocket(streamUrl(url), { headers, perMessageDeflate: false });
      ws.binaryType = 'nodebuffer';
      let ready: { resolve: () => void; reject: (e: Error) => void } | null = null;
      let closed = false;
      let opened = false;
      // ws moves to CLOSING before emitting a connect error, so "opened" (not readyState) tells the two apart.
      const connectTimer = setTimeout(() => {
        if (!opened) {
          reject(new Error('connect timeout'));
          ws.terminate();
        }
      }, START_TIMEOUT_MS);
      ws.on('message', (data: Buffer, isBinary: boolean) => {
        const wall = performance.now();
        if (isBinary) {
          handlers.onAudio(data, wall);
          return;
        }
        let ev: GatewayEvent;
        try {
          ev = JSON.parse(data.toString('utf8')) as GatewayEvent;
        } catch {
          handlers.onEvent({ type: 'bench_bad_json', raw: data.toString('utf8').slice(0, 200) }, wall);
          return;
        }
        if (ready && ev.type === 'ready') {
          ready.resolve();
          ready = null;
        } else if (ready && (ev.type === 'rejected' || ev.type === 'error')) {
          ready.reject(new Error(`${ev.type}: ${String(ev.reason ?? ev.code ?? '')} ${String(ev.message ?? '')}`.trim()));
          ready = null;
        }
        handlers.onEvent(ev, wall);
      });
      ws.on('close', (code, reason) => {
        closed = true;
        clearTimeout(connectTimer);
        if (!opened) return reject(new Error(`closed while connecting (${code})`));
        ready?.reject(new Error(`closed before ready (${code} ${reason.toString()})`));
        ready = null;
        handlers.onClose(`${code} ${reason.toString()}`);
      });
      ws.on('error', (err) => {
        if (!opened) {
          clearTimeout(connectTimer);
          reject(err);
        }
      });
      ws.on('open', () => {
        opened = true;
        clearTimeout(connectTimer);
        const send = (o: unknown) => {
          if (!closed && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(o));
        };
        const call: WireCall = {
          start(p: StartParams) {
            return new Promise<void>((res, rej) => {
              const timer = setTimeout(() => {
                ready = null;
                rej(new Error(`no ready within ${START_TIMEOUT_MS} ms`));
              }, START_TIMEOUT_MS);
              ready = {
                resolve: () => (clearTimeout(timer), res()),
                reject: (e) => (clearTimeout(timer), rej(e)),
              };
              send({ type: 'start', ...p });
            });
          },
          sendAudio(frame) {
            if (!closed && ws.readyState === WebSocket.OPEN) ws.send(frame, { binary: true });
          },
          play(promptId, audio, interruptible) {
            send({ type: 'play', promptId, audio, interruptible });
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
