// FreeSWITCH at /v1/freeswitch: drachtio's mod_audio_fork (`uuid_audio_fork <uuid> start wss://…/v1/freeswitch mono
// 8k|16k [bugname] <metadata>`, subprotocol audio.drachtio.org) or mod_audio_stream (`uuid_audio_stream <uuid> start
// … mono 8k|16k <metadata>`). Both send the command's metadata as their first text frame, then binary L16 mono; the
// messages back are those of ./shared/AudioFork.ts in its file modes: `playAudio` for mod_audio_fork, `streamAudio`
// for mod_audio_stream, chosen by the subprotocol (mod_audio_stream sends none) unless the metadata names one, and
// `killAudio` on barge-in. Neither module reports playback, so there are no marks and no prompt_heard.
//
// The metadata is whatever the dialplan or ESL application writes, so earshot asks for a JSON object naming the
// rate given to the command: {"uuid":"${uuid}","sampleRate":8000,"callType":…,"language":…,"callee":…}. The
// channel's `uuid` is the call id unless `callId` names another. Authentication: HTTP Basic with the token as
// password (mod_audio_fork's MOD_AUDIO_BASIC_AUTH_USERNAME/_PASSWORD channel variables), an `Authorization: Bearer`
// header (mod_audio_stream's STREAM_EXTRA_HEADERS), or `?token=`.
import type { IncomingMessage } from 'node:http';
import type { WebSocket } from 'ws';
import type { WireContext } from '../call/wire.js';
import { AudioForkStream, type ForkPlayback, type ForkStart } from './shared/AudioFork.js';
import { callFields, str } from './shared/MediaStream.js';
import { PlatformWire } from './shared/PlatformWire.js';

export const DRACHTIO_SUBPROTOCOL = 'audio.drachtio.org';

export class FreeswitchWire extends PlatformWire {
  readonly name = 'freeswitch';
  readonly path = '/v1/freeswitch';
  connect(ws: WebSocket, req: IncomingMessage, ctx: WireContext): void {
    const module: ForkPlayback = ws.protocol === DRACHTIO_SUBPROTOCOL ? 'playAudio' : 'streamAudio';
    new FreeswitchStream(ws, req, ctx, this.streamOptions('the fork metadata'), module);
  }
}

class FreeswitchStream extends AudioForkStream {
  constructor(ws: WebSocket, req: IncomingMessage, ctx: WireContext, opts: ConstructorParameters<typeof AudioForkStream>[3], private readonly module: ForkPlayback) {
    super(ws, req, ctx, opts);
  }

  protected startFrom(meta: Record<string, unknown>): ForkStart {
    const rate = Number(meta.sampleRate);
    if (rate !== 8000 && rate !== 16000) return { code: 'unsupported_audio', error: `sampleRate ${String(meta.sampleRate)}: the metadata must name the command's rate, 8000 or 16000` };
    if (meta.mix !== undefined && meta.mix !== 'mono') return { code: 'unsupported_audio', error: `mix ${String(meta.mix)}: use mono` };
    const playback = meta.playback === undefined ? this.module : meta.playback;
    if (playback !== 'playAudio' && playback !== 'streamAudio') return { code: 'invalid_start', error: `playback ${String(meta.playback)}: playAudio (mod_audio_fork) or streamAudio (mod_audio_stream)` };
    const { fields } = callFields(meta);
    const uuid = str(meta.uuid);
    return {
      playback,
      start: { ...fields, callId: fields.callId ?? uuid, audio: { encoding: 'pcm16', sampleRate: rate }, freeswitch: { uuid, module: playback === 'playAudio' ? 'mod_audio_fork' : 'mod_audio_stream' } },
    };
  }
}
