// Telnyx media streaming at /v1/telnyx, bidirectional in RTP mode: Call Control's `stream_url` (Dial, Answer or
// `streaming_start`) or TeXML `<Stream url bidirectionalMode="rtp">`, with `stream_bidirectional_mode: "rtp"` and
// the bidirectional codec and rate equal to the streamed ones. JSON text frames only: `connected`, then `start`
// (call_control_id, custom_parameters, media_format), `media` with a base64 RTP payload (no header), `dtmf`,
// `mark`, `error`, `stop`. Back to Telnyx: `media` (one 20 ms frame each; RTP mode takes 20 ms to 30 s), `mark`
// (echoed once the audio before it played, at once by a `clear`) and `clear` on barge-in.
//
// Codecs: PCMU and PCMA at 8 kHz, and L16 at 8 or 16 kHz. L16 in an RTP payload is network byte order (RFC 3551),
// so it is swapped to and from the call contract's little-endian pcm16 here. The call's id is Telnyx's
// call_control_id (what its Call Control API takes) unless the custom parameters name a `callId`; callType,
// language, callee and script come from the custom parameters. Authentication: `stream_auth_token` (sent as the
// `x-telnyx-streaming-auth-token` header), a bearer header, Basic, or `?token=` in the stream URL.
import type { IncomingMessage } from 'node:http';
import type { WebSocket } from 'ws';
import type { AudioFormat } from '../audio/codec.js';
import { decodeBase64Audio } from '../call/commands.js';
import type { WireContext } from '../call/wire.js';
import type { MarkKind } from './shared/HeardTracker.js';
import { PlatformWire } from './shared/PlatformWire.js';
import { callFields, encodingOf, MediaStream, str } from './shared/MediaStream.js';

const TOKEN_HEADER = 'x-telnyx-streaming-auth-token';

export class TelnyxWire extends PlatformWire {
  readonly name = 'telnyx';
  readonly path = '/v1/telnyx';
  connect(ws: WebSocket, req: IncomingMessage, ctx: WireContext): void {
    new TelnyxStream(ws, req, ctx, { ...this.streamOptions('start message'), tokenHeader: TOKEN_HEADER });
  }
}

/** The call contract's format for Telnyx's `media_format`, or why not; `swap`: L16 arrives big-endian. */
function formatOf(mf: unknown): { format: AudioFormat; swap: boolean } | string {
  const m = (mf && typeof mf === 'object' ? mf : {}) as { encoding?: unknown; sample_rate?: unknown; channels?: unknown };
  const name = str(m.encoding) ?? 'PCMU';
  const rate = Number(m.sample_rate ?? 8000);
  if (m.channels !== undefined && Number(m.channels) !== 1) return `${String(m.channels)} channels: stream one track (stream_track inbound_track)`;
  if (/^l16$/i.test(name)) {
    if (rate !== 8000 && rate !== 16000) return `L16 at ${rate} Hz: use 8000 or 16000`;
    return { format: { encoding: 'pcm16', sampleRate: rate }, swap: true };
  }
  const enc = encodingOf(name);
  if (!enc) return `codec ${name}: use PCMU, PCMA or L16 (stream_codec and stream_bidirectional_codec)`;
  if (rate !== 8000) return `${name} at ${rate} Hz: G.711 is 8000 Hz`;
  return { format: { encoding: enc, sampleRate: 8000 }, swap: false };
}

class TelnyxStream extends MediaStream {
  private swap = false;
  private streamId = '';

  protected onMessage(data: Buffer, isBinary: boolean): void {
    if (this.closed) return;
    if (isBinary) return this.abort('binary_frame', 'Telnyx streams carry JSON text frames only', 4400);
    const msg = this.parseJson(data);
    if (!msg) return;
    switch (msg.event) {
      case 'connected':
        return;
      case 'start':
        return this.onStart(msg);
      case 'media': {
        const media = (msg.media ?? {}) as { track?: unknown; payload?: unknown };
        // With stream_track both_tracks Telnyx also streams what the callee hears: only the callee's side is input.
        if (media.track !== undefined && media.track !== 'inbound' && media.track !== 'inbound_track') return;
        if (!this.swap) return this.inboundBase64(media.payload);
        const bytes = typeof media.payload === 'string' ? decodeBase64Audio(media.payload) : null;
        if (!bytes) return this.abort('bad_base64', 'media payload is not valid base64', 4400);
        // Half a sample is refused as such by inbound(), before any swapping.
        return this.inbound(bytes.length % 2 ? bytes : swap16(bytes));
      }
      case 'mark':
        return this.markEchoed(((msg.mark ?? {}) as { name?: unknown }).name);
      case 'dtmf':
        return this.dtmf(((msg.dtmf ?? {}) as { digit?: unknown }).digit);
      case 'stop':
        return this.farEndStopped();
      case 'error':
        this.log.warn({ telnyx: msg.payload ?? msg.error ?? null }, 'Telnyx reported an error on the stream');
        return;
      default:
        this.log.debug({ event: msg.event }, 'ignoring a message from Telnyx');
    }
  }

  private onStart(msg: Record<string, unknown>): void {
    const st = (msg.start ?? {}) as Record<string, unknown>;
    const f = formatOf(st.media_format);
    if (typeof f === 'string') return this.abort('unsupported_audio', f, 4400);
    this.swap = f.swap;
    this.streamId = str(msg.stream_id) ?? '';
    const custom = customParameters(st.custom_parameters);
    const { fields, rest } = callFields(custom);
    const controlId = str(st.call_control_id);
    this.begin({
      ...fields,
      callId: fields.callId ?? controlId,
      audio: f.format,
      telnyx: { callControlId: controlId, callSessionId: str(st.call_session_id), streamId: this.streamId, from: str(st.from), to: str(st.to), customParameters: rest },
    });
  }

  protected writeAudio(bytes: Uint8Array): void {
    const out = this.swap ? swap16(bytes) : bytes;
    this.sendJson({ event: 'media', media: { payload: Buffer.from(out.buffer, out.byteOffset, out.byteLength).toString('base64') } });
  }

  protected writeClear(): void {
    this.sendJson({ event: 'clear' });
  }

  protected writeMark(endMs: number, kind: MarkKind, promptId: string): void {
    this.sendJson({ event: 'mark', mark: { name: this.markName(endMs, kind, promptId) } });
  }

  protected closeInfo(): Record<string, unknown> {
    return { streamId: this.streamId, ...super.closeInfo() };
  }
}

/**
 * custom_parameters as an object: the API takes them as a list of {name, value} (streaming_start), and the start
 * frame is documented with an object; both shapes are read.
 */
function customParameters(raw: unknown): Record<string, unknown> {
  if (Array.isArray(raw)) {
    const out: Record<string, unknown> = {};
    for (const p of raw.slice(0, 64)) if (p && typeof p === 'object' && typeof (p as { name?: unknown }).name === 'string') out[(p as { name: string }).name] = (p as { value?: unknown }).value;
    return out;
  }
  return raw && typeof raw === 'object' ? (raw as Record<string, unknown>) : {};
}

/** 16-bit samples with their bytes swapped: RTP's L16 (big-endian) to and from pcm16 (little-endian). */
function swap16(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes).swap16();
}
