// Twilio Media Streams (`/v1/twilio`), spoken as Twilio speaks it: `connected`, `start` (the call's parameters as
// customParameters, the API token as `token` since Twilio cannot set headers), `media` (base64 μ-law 8 kHz, 20 ms,
// with sequenceNumber/chunk/timestamp), mark echoes, `stop`. The stream carries audio only: commands and events go
// through the HTTP control API and SSE (./control.ts), as a Twilio platform's would.
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import { zeroMask } from './mask.js';
import { Connecting } from './connect.js';
import { CallControl } from './control.js';
import type { StartParams, Wire, WireCall } from './types.js';

function streamUrl(url: string): string {
  const u = new URL(url);
  return `${u.protocol}//${u.host}/v1/twilio`;
}

const sid = (prefix: string) => prefix + randomBytes(16).toString('hex');

export const twilioWire: Wire = {
  name: 'twilio',
  connect(url, handlers, token) {
    return new Promise((resolve, reject) => {
      // The gateway authenticates Twilio at `start` (signature or token parameter); the header is sent anyway.
      const headers = token ? { authorization: `Bearer ${token}` } : undefined;
      const ws = new WebSocket(streamUrl(url), { headers, perMessageDeflate: false, generateMask: zeroMask });
      const ctl = new CallControl(url, token, handlers);
      const streamSid = sid('MZ');
      const callSid = sid('CA');
      const accountSid = sid('AC');
      let seq = 0;
      let chunk = 0;
      let sentMs = 0;
      let closed = false;
      // Twilio echoes a mark once the audio queued before it has played, and at once on `clear`. The gateway
      // judges what the callee heard (prompt_heard) by those echoes, so keep Twilio's playout clock: each media
      // frame plays 20 ms after the previous one ends.
      let playEnd = 0;
      let pendingMarks: { name: string; timer: NodeJS.Timeout }[] = [];

      const send = (o: Record<string, unknown>) => {
        if (!closed && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(o));
      };
      const echoMark = (name: string) => send({ event: 'mark', sequenceNumber: String(++seq), streamSid, mark: { name } });
      const dropMarks = (echo: boolean) => {
        for (const p of pendingMarks.splice(0)) {
          clearTimeout(p.timer);
          if (echo) echoMark(p.name);
        }
      };

      const conn = new Connecting(reject, () => ws.terminate());

      ws.on('message', (data: Buffer, isBinary: boolean) => {
        const wall = performance.now();
        if (isBinary) return handlers.onEvent({ type: 'bench_bad_json', raw: 'binary frame on a Twilio stream' }, wall);
        let m: { event?: string; media?: { payload?: string }; mark?: { name?: string } };
        try {
          m = JSON.parse(data.toString('utf8'));
        } catch {
          return handlers.onEvent({ type: 'bench_bad_json', raw: data.toString('utf8').slice(0, 200) }, wall);
        }
        if (m.event === 'media' && typeof m.media?.payload === 'string') {
          const bytes = Buffer.from(m.media.payload, 'base64');
          playEnd = Math.max(wall, playEnd) + bytes.length / 8;
          handlers.onAudio(bytes, wall);
        } else if (m.event === 'mark' && typeof m.mark?.name === 'string') {
          const name = m.mark.name;
          const p = {
            name,
            timer: setTimeout(() => {
              pendingMarks = pendingMarks.filter((x) => x !== p);
              echoMark(name);
            }, Math.max(0, playEnd - wall)),
          };
          pendingMarks.push(p);
        } else if (m.event === 'clear') {
          // Twilio drops its buffer: nothing more plays, pending marks come back at once.
          playEnd = wall;
          dropMarks(true);
        }
      });
      ws.on('close', (code, reason) => {
        closed = true;
        dropMarks(false);
        if (conn.closedBeforeOpen(`closed while connecting (${code})`)) return;
        // A refusal's reason comes on the event stream (`rejected`); the close code only ends the transport.
        ctl.transportClosed(`${code} ${reason.toString()}`);
      });
      ws.on('error', (err) => conn.error(err));
      ws.on('open', () => {
        conn.open();
        send({ event: 'connected', protocol: 'Call', version: '1.0.0' });
        const call: WireCall = {
          async start(p: StartParams) {
            if (p.audio.encoding !== 'mulaw' || p.audio.sampleRate !== 8000) {
              throw new Error(`--wire twilio carries μ-law 8 kHz only (this run is ${p.audio.encoding}/${p.audio.sampleRate}): pass --rate 8k`);
            }
            const customParameters: Record<string, string> = { callId: p.callId, language: p.language, callType: p.callType, callee: p.callee };
            if (token) customParameters.token = token;
            // The event stream first, as a platform subscribes before it connects the media: it carries ready/rejected.
            const ready = ctl.attach(p.callId);
            send({
              event: 'start',
              sequenceNumber: String(++seq),
              streamSid,
              start: {
                accountSid,
                streamSid,
                callSid,
                tracks: ['inbound'],
                customParameters,
                mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 },
              },
            });
            await ready;
          },
          sendAudio(frame) {
            if (closed || ws.readyState !== WebSocket.OPEN) return;
            const payload = Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength).toString('base64');
            send({ event: 'media', sequenceNumber: String(++seq), streamSid, media: { track: 'inbound', chunk: String(++chunk), timestamp: String(Math.round(sentMs)), payload } });
            sentMs += frame.byteLength / 8;
          },
          play(promptId, audio, interruptible) {
            void ctl.command('play', audio === null ? { promptId, interruptible } : { promptId, audio, interruptible });
          },
          expectConsent(promptId) {
            void ctl.command('expect_consent', { promptId });
          },
          hangup() {
            ctl.hangup(() => send({ event: 'stop', sequenceNumber: String(++seq), streamSid, stop: { accountSid, callSid } }));
          },
          close() {
            ctl.close();
            dropMarks(false);
            if (!closed) ws.close(1000, 'bench done');
          },
          bufferedBytes: () => ws.bufferedAmount,
        };
        resolve(call);
      });
    });
  },
};
