// Exotel's Voicebot applet (bidirectional AgentStream) at /v1/exotel: Exotel dials the applet's URL
// (`wss://KEY:TOKEN@host/v1/exotel?sample-rate=8000&callType=…`, the credentials sent as HTTP Basic) and speaks JSON
// text frames: `connected`, `start` {stream_sid, start: {call_sid, custom_parameters, media_format}}, `media`
// {media: {payload}} (base64 16-bit little-endian mono PCM, about 100 ms each), `dtmf`, `mark` (an echo of ours once
// the audio before it played), `stop`. Exotel's pages disagree on spellings (numbers as strings or not, `streamSid`,
// `encoding` "raw" or "audio/x-raw", a μ-law default in the beta guide): each is taken. With the beta guide's
// `Track=both`, media carries `track`; only `inbound` is the caller. The call id is `call_sid`
// unless the custom parameters (at most three, 256 characters: e.g. callType, language, callee) or the URL name one.
//
// Back to Exotel: `media` in chunks of 100 ms (multiples of 320 bytes, as Exotel asks; a prompt's last chunk, and
// what is held when a prompt pauses, padded to one), sent a chunk ahead of the playout clock so that each arrives
// before the one playing ends (./shared/ChunkedOutput.ts), `mark` after the chunk holding the audio before it, and
// `clear` on barge-in, which drops what has not started playing. Hanging up is closing the socket.
import type { IncomingMessage } from 'node:http';
import type { WebSocket } from 'ws';
import { bytesForMs, type Encoding } from '../audio/codec.js';
import type { CallEvent } from '../call/Call.js';
import type { WireContext } from '../call/wire.js';
import { clip } from '../ops/clientText.js';
import { ChunkedOutput } from './shared/ChunkedOutput.js';
import type { MarkKind } from './shared/HeardTracker.js';
import { callFields, encodingOf, MediaStream, str } from './shared/MediaStream.js';
import { PlatformWire } from './shared/PlatformWire.js';

/** Exotel's chunk: 100 ms, a multiple of 320 bytes at 8 and 16 kHz (1600 and 3200 bytes). */
const CHUNK_MS = 100;
const CHUNK_MULTIPLE = 320;

export class ExotelWire extends PlatformWire {
  readonly name = 'exotel';
  readonly path = '/v1/exotel';
  connect(ws: WebSocket, req: IncomingMessage, ctx: WireContext): void {
    new ExotelStream(ws, req, ctx, this.streamOptions('start'));
  }
}

class ExotelStream extends MediaStream {
  private streamSid = '';
  private chunks: ChunkedOutput | null = null;
  private pad = 0;
  private readonly query: Record<string, string>;
  readonly playoutLeadMs = CHUNK_MS;

  constructor(ws: WebSocket, req: IncomingMessage, ctx: WireContext, opts: ConstructorParameters<typeof MediaStream>[3]) {
    super(ws, req, ctx, opts);
    this.query = Object.fromEntries(new URL(req.url ?? '/', 'http://x').searchParams);
  }

  protected onMessage(data: Buffer, isBinary: boolean): void {
    if (this.closed) return;
    if (isBinary) return this.abort('binary_frame', 'Exotel streams carry JSON text frames only', 4400);
    const msg = this.parseJson(data);
    if (!msg) return;
    const event = msg.event;
    if (event === 'connected') return;
    if (event === 'start') return this.onStart(msg);
    if (!this.started) return this.abort('not_started', `"${clip(String(event))}" before "start"`, 4400);
    const sid = str(msg.stream_sid ?? msg.streamSid);
    if (sid && sid !== this.streamSid) return this.abort('unknown_stream', `message for stream ${clip(sid)} on stream ${this.streamSid}`, 4404);
    switch (event) {
      case 'media': {
        const media = (msg.media ?? {}) as { payload?: unknown; track?: unknown };
        // The Beta extension guide's Track=both (its default there) interleaves what the callee hears: not the caller.
        if (media.track !== undefined && media.track !== 'inbound') return;
        return this.inboundBase64(media.payload);
      }
      case 'dtmf':
        return this.dtmf((msg.dtmf as { digit?: unknown } | undefined)?.digit);
      case 'mark':
        return this.markEchoed((msg.mark as { name?: unknown } | undefined)?.name);
      case 'stop':
        return this.farEndStopped();
      default:
        this.log.debug({ event }, 'ignoring an Exotel event');
    }
  }

  private onStart(msg: Record<string, unknown>): void {
    const st = (msg.start && typeof msg.start === 'object' ? msg.start : {}) as Record<string, unknown>;
    const mf = (st.media_format ?? st.mediaFormat ?? {}) as Record<string, unknown>;
    const rate = Number(mf.sample_rate ?? mf.sampleRate ?? this.query['sample-rate'] ?? 8000);
    const name = str(mf.encoding) ?? 'audio/x-raw';
    const encoding: Encoding | null = /^(audio\/x-raw|raw|pcm|linear16|audio\/x-l16|slin)$/i.test(name) ? 'pcm16' : encodingOf(name);
    if (!encoding) return this.abort('unsupported_audio', `encoding ${clip(name)}: 16-bit PCM (audio/x-raw) or μ-law`, 4400);
    if (rate !== 8000 && rate !== 16000) return this.abort('unsupported_audio', `sample rate ${clip(String(rate))}: use ?sample-rate=8000 or 16000`, 4400);
    if (encoding !== 'pcm16' && rate !== 8000) return this.abort('unsupported_audio', `${name} at ${rate} Hz`, 4400);
    this.streamSid = str(msg.stream_sid ?? msg.streamSid ?? st.stream_sid) ?? '';
    const custom = (st.custom_parameters ?? st.customParameters ?? {}) as Record<string, unknown>;
    const { fields } = callFields({ ...this.query, ...(typeof custom === 'object' ? custom : {}) });
    const audio = { encoding, sampleRate: rate } as const;
    this.pad = encoding === 'mulaw' ? 0xff : 0;
    this.chunks = new ChunkedOutput(bytesForMs(audio, CHUNK_MS), (b) => this.sendMedia(b));
    const callSid = str(st.call_sid ?? st.callSid);
    this.begin({ ...fields, callId: fields.callId ?? callSid, audio, exotel: { streamSid: this.streamSid, callSid, accountSid: str(st.account_sid), from: str(st.from), to: str(st.to) } });
  }

  private sendMedia(bytes: Uint8Array): void {
    this.sendJson({ event: 'media', stream_sid: this.streamSid, media: { payload: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64') } });
  }

  protected writeAudio(bytes: Uint8Array): void {
    this.chunks?.push(bytes);
  }

  protected writeClear(): void {
    this.chunks?.drop();
    this.sendJson({ event: 'clear', stream_sid: this.streamSid });
  }

  protected writeMark(endMs: number, kind: MarkKind, promptId: string): void {
    const name = this.markName(endMs, kind, promptId);
    this.chunks?.afterHeld(() => this.sendJson({ event: 'mark', stream_sid: this.streamSid, mark: { name } }));
  }

  sendEvent(ev: CallEvent): void {
    if ((ev.type === 'prompt_finished' && !ev.interrupted) || ev.type === 'prompt_paused') this.chunks?.flush(CHUNK_MULTIPLE, this.pad);
    super.sendEvent(ev);
  }

  protected closeInfo(): Record<string, unknown> {
    return { streamSid: this.streamSid, ...super.closeInfo() };
  }
}
