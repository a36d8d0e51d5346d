// Plivo audio streams at /v1/plivo, bidirectional: the answer XML's
// `<Stream bidirectional="true" keepCallAlive="true" contentType="audio/x-mulaw;rate=8000">wss://…/v1/plivo</Stream>`
// (or audio/x-l16 at 8000 or 16000). JSON text frames only: `start` (callId, streamId, mediaFormat, and the
// `extraHeaders` attribute as the string `extra_headers`), `media` with base64 audio, `dtmf`, `playedStream`,
// `clearedAudio`, and `stop` where Plivo sends one. Back to Plivo: `playAudio` (one 20 ms frame each, in the
// stream's contentType and rate), `checkpoint` (answered by `playedStream` once the audio before it has played;
// never for audio a clear dropped) and `clearAudio` on barge-in, answered by `clearedAudio`. Since a checkpoint
// behind cleared audio never comes back, the barrier that closes an interrupted prompt's `prompt_heard` is Plivo's
// `clearedAudio` itself.
//
// The call's id is Plivo's call UUID (what its Call API takes) unless the stream names a `callId`. The call's
// fields come from the stream URL's query string and from `extraHeaders` (`callType=notification;language=en;
// callee=8613900000001`; the later wins). extraHeaders carry only letters and digits, so a callee of digits alone
// is taken as E.164 without its `+`. L16 is taken as little-endian. Authentication: `?token=` in the stream URL
// (Plivo sets no headers), or a bearer or Basic header where a proxy adds one.
import type { IncomingMessage } from 'node:http';
import type { WebSocket } from 'ws';
import type { AudioFormat } from '../audio/codec.js';
import type { WireContext } from '../call/wire.js';
import type { MarkKind } from './shared/HeardTracker.js';
import { PlatformWire } from './shared/PlatformWire.js';
import { callFields, MediaStream, str } from './shared/MediaStream.js';

export class PlivoWire extends PlatformWire {
  readonly name = 'plivo';
  readonly path = '/v1/plivo';
  connect(ws: WebSocket, req: IncomingMessage, ctx: WireContext): void {
    new PlivoStream(ws, req, ctx, this.streamOptions('start event'));
  }
}

/** `extraHeaders` as Plivo hands them over: `k=v;k=v` (or `,`-separated), or already an object. */
export function plivoExtraHeaders(raw: unknown): Record<string, string> {
  if (raw && typeof raw === 'object' && !Array.isArray(raw)) {
    return Object.fromEntries(Object.entries(raw as Record<string, unknown>).filter((e): e is [string, string] => typeof e[1] === 'string'));
  }
  const out: Record<string, string> = {};
  if (typeof raw !== 'string') return out;
  for (const pair of raw.slice(0, 1024).split(/[;,]/)) {
    const eq = pair.indexOf('=');
    if (eq > 0) out[pair.slice(0, eq).trim()] = pair.slice(eq + 1).trim();
  }
  return out;
}

/** The call contract's format for Plivo's `mediaFormat`, or why not. */
function formatOf(mf: unknown): { format: AudioFormat; contentType: string } | string {
  const m = (mf && typeof mf === 'object' ? mf : {}) as { encoding?: unknown; sampleRate?: unknown };
  const enc = str(m.encoding) ?? 'audio/x-mulaw';
  const rate = Number(m.sampleRate ?? 8000);
  if (enc === 'audio/x-mulaw') {
    if (rate !== 8000) return `audio/x-mulaw at ${rate} Hz: μ-law is 8000 Hz`;
    return { format: { encoding: 'mulaw', sampleRate: 8000 }, contentType: enc };
  }
  if (enc === 'audio/x-l16') {
    if (rate !== 8000 && rate !== 16000) return `audio/x-l16 at ${rate} Hz: use rate=8000 or rate=16000`;
    return { format: { encoding: 'pcm16', sampleRate: rate }, contentType: enc };
  }
  return `encoding ${enc}: use contentType audio/x-mulaw;rate=8000 or audio/x-l16;rate=8000|16000`;
}

class PlivoStream extends MediaStream {
  private streamId = '';
  private contentType = 'audio/x-mulaw';
  /** Barrier marks sent with a clearAudio, answered by Plivo's clearedAudio in order. */
  private readonly clears: string[] = [];
  private readonly query: Record<string, string>;

  constructor(...args: ConstructorParameters<typeof MediaStream>) {
    super(...args);
    const url = new URL(args[1].url ?? '/', 'ws://x');
    this.query = Object.fromEntries(url.searchParams);
  }

  protected onMessage(data: Buffer, isBinary: boolean): void {
    if (this.closed) return;
    if (isBinary) return this.abort('binary_frame', 'Plivo streams carry JSON text frames only', 4400);
    const msg = this.parseJson(data);
    if (!msg) return;
    switch (msg.event) {
      case 'start':
        return this.onStart(msg);
      case 'media': {
        const media = (msg.media ?? {}) as { track?: unknown; payload?: unknown };
        if (media.track !== undefined && media.track !== 'inbound') return;
        return this.inboundBase64(media.payload);
      }
      case 'playedStream':
        return this.markEchoed(msg.name);
      case 'clearedAudio':
        return this.markEchoed(this.clears.shift());
      case 'dtmf':
        return this.dtmf(((msg.dtmf ?? {}) as { digit?: unknown }).digit);
      case 'stop':
        return this.farEndStopped();
      default:
        this.log.debug({ event: msg.event }, 'ignoring a message from Plivo');
    }
  }

  private onStart(msg: Record<string, unknown>): void {
    const st = (msg.start ?? {}) as Record<string, unknown>;
    const f = formatOf(st.mediaFormat);
    if (typeof f === 'string') return this.abort('unsupported_audio', f, 4400);
    this.contentType = f.contentType;
    this.streamId = str(st.streamId) ?? str(msg.streamId) ?? '';
    const extra = plivoExtraHeaders(msg.extra_headers ?? st.extra_headers);
    const { fields, rest } = callFields({ ...this.query, ...extra });
    if (fields.callee && /^\d{6,15}$/.test(fields.callee)) fields.callee = `+${fields.callee}`;
    const plivoCallId = str(st.callId);
    this.begin({
      ...fields,
      callId: fields.callId ?? plivoCallId,
      audio: f.format,
      plivo: { callId: plivoCallId, streamId: this.streamId, accountId: str(st.accountId), extraHeaders: rest },
    });
  }

  protected writeAudio(bytes: Uint8Array): void {
    const payload = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
    this.sendJson({ event: 'playAudio', streamId: this.streamId, media: { contentType: this.contentType, sampleRate: this.format?.sampleRate, payload } });
  }

  protected writeClear(): void {
    this.sendJson({ event: 'clearAudio', streamId: this.streamId });
  }

  protected writeMark(endMs: number, kind: MarkKind, promptId: string): void {
    const name = this.markName(endMs, kind, promptId);
    // The barrier after a clear: Plivo's clearedAudio is its echo (bounded by the mark table's own size).
    if (kind === 'c') {
      if (this.clears.push(name) > 64) this.clears.shift();
      return;
    }
    this.sendJson({ event: 'checkpoint', streamId: this.streamId, name });
  }

  protected closeInfo(): Record<string, unknown> {
    return { streamId: this.streamId, ...super.closeInfo() };
  }
}
