// jambonz `listen` verb at /v1/jambonz (subprotocol audio.jambonz.org), with bidirectional streaming audio
// (`bidirectionalAudio: {enabled: true, streaming: true, sampleRate}` equal to `sampleRate`, 8000 or 16000,
// `mixType: "mono"`). jambonz runs its build of mod_audio_fork, so the messages are those of ./shared/AudioFork.ts
// in `stream` mode. Its first message merges the call's attributes (callSid, from, to, direction, …) with the
// verb's `metadata` flat; earshot reads callType, language, callee, script and, to name the call other than by its
// callSid, `earshotCallId` (jambonz's own `callId` there is the SIP Call-ID). Keypad digits arrive with
// `passDtmf: true`. Authentication: the verb's `wsAuth` (HTTP Basic, the API token as password), or `?token=`.
import type { IncomingMessage } from 'node:http';
import type { WebSocket } from 'ws';
import type { WireContext } from '../call/wire.js';
import { AudioForkStream, type ForkStart } from './shared/AudioFork.js';
import { callFields, str } from './shared/MediaStream.js';
import { PlatformWire } from './shared/PlatformWire.js';

export class JambonzWire extends PlatformWire {
  readonly name = 'jambonz';
  readonly path = '/v1/jambonz';
  connect(ws: WebSocket, req: IncomingMessage, ctx: WireContext): void {
    new JambonzStream(ws, req, ctx, this.streamOptions('the listen metadata'));
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
