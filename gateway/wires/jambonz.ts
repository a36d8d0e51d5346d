// jambonz `listen` verb at /v1/jambonz (subprotocol audio.jambonz.org), with bidirectional streaming audio
// (`bidirectionalAudio: {enabled: true, streaming: true, sampleRate}` equal to `sampleRate`, 8000 or 16000,
// `mixType: "mono"`). jambonz runs its build of mod_audio_fork, so the messages are those of ./shared/AudioFork.ts
// in `stream` mode. Its first message merges the call's attributes (callSid, from, to, direction, …) with the
// verb's `metadata` flat; earshot reads callType, language, callee, script and, to name the call other than by its
// callSid, `earshotCallId` (jambonz's own `callId` there is the SIP Call-ID). Keypad digits arrive with
// `passDtmf: true`. Authentication: the verb's `wsAuth` (HTTP Basic, the API token as password), or `?token=`.
import type { IncomingMessage } from 'node:http';
import type { WebSocket } from 'ws';
import type { Wire, WireContext } from '../call/wire.js';
import type { WiresConfig } from './config.js';
import { AudioForkStream, type ForkStart } from './shared/AudioFork.js';
import { callFields, str } from './shared/MediaStream.js';

export class JambonzWire implements Wire {
  readonly name = 'jambonz';
  readonly path = '/v1/jambonz';
  readonly selfAuth = true;
  /** jambonz sends binary L16 (what was buffered when the socket was writable) and JSON under 8 KiB. */
  readonly maxPayload: number;
  constructor(
    private readonly cfg: WiresConfig,
    maxPayload: number,
  ) {
    this.maxPayload = maxPayload;
  }
  connect(ws: WebSocket, req: IncomingMessage, ctx: WireContext): void {
    new JambonzStream(ws, req, ctx, { wire: this.name, startWhat: 'the listen metadata', markEveryFrames: this.cfg.twilioMarkEveryFrames, selfAuth: true });
  }
}

class JambonzStream extends AudioForkStream {
  protected startFrom(meta: Record<string, unknown>): ForkStart {
    const rate = Number(meta.sampleRate ?? 8000);
    if (rate !== 8000 && rate !== 16000) return { code: 'unsupported_audio', error: `sampleRate ${String(meta.sampleRate)}: use 8000 or 16000 (listen sampleRate = bidirectionalAudio.sampleRate)` };
    if (meta.mixType !== undefined && meta.mixType !== 'mono') return { code: 'unsupported_audio', error: `mixType ${String(meta.mixType)}: use "mono"` };
    // The verb's metadata is merged flat; `tag` data arrives as customerData. The metadata wins.
    const custom = { ...(meta.customerData && typeof meta.customerData === 'object' ? (meta.customerData as Record<string, unknown>) : {}), ...meta };
    const { fields } = callFields({ ...custom, callId: custom.earshotCallId });
    const { callSid, accountSid, applicationSid, direction, from, to, callId: sipCallId, traceId } = meta;
    return {
      playback: 'stream',
      start: {
        ...fields,
        callId: fields.callId ?? str(callSid),
        audio: { encoding: 'pcm16', sampleRate: rate },
        jambonz: { callSid, accountSid, applicationSid, direction, from, to, sipCallId, traceId },
      },
    };
  }
}
