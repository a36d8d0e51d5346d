// Asterisk's WebSocket channel (chan_websocket, Asterisk 20.16+/21.11+/22.6+/23) at /v1/asterisk. Asterisk dials out
// (websocket_client.conf: `uri = wss://…/v1/asterisk`, `protocols = media`, `username`/`password` = Basic with the
// token as password, `connection_type = per_call_config`) from `Dial(WebSocket/<client>/c(ulaw)f(json)v(callType=…))`
// or ARI externalMedia. Its first text frame is `MEDIA_START` — JSON with `f(json)` (20.18/22.8/23.2+, carrying
// `channel_variables`), else the plain-text line `MEDIA_START connection_id:… channel_id:… format:ulaw
// optimal_frame_size:160 ptime:20` — then binary frames of the channel's codec with no header. earshot takes ulaw,
// alaw, slin (8 kHz) and slin16. The call id is the channel's `channel_id` unless a `callId` is given; callType,
// language, callee and script come from the URI's query (the dialstring's `v(…)`) or, with `f(json)`, from the
// channel variables of the same names.
//
// Back to Asterisk: binary media in multiples of `optimal_frame_size` (Asterisk drops a partial frame, so a prompt's
// tail is padded with the codec's silence), `FLUSH_MEDIA` on barge-in (Asterisk drops what it queued, and the marks
// with it), and `MARK_MEDIA` with a short correlation id, answered by `MEDIA_MARK_PROCESSED` once the audio before it
// left Asterisk's queue for the channel — that is prompt_heard. Commands go out in the format MEDIA_START came in;
// plain-text MARK_MEDIA carries the id as its parameter. Asterisk ignores text commands over 128 bytes: every command
// here is shorter. `DTMF_END` gives keypad digits; `MEDIA_XOFF`/`MEDIA_XON` cannot happen at real-time pacing (they
// mean 18 s queued) and are logged. Closing the socket hangs up the channel.
import type { IncomingMessage } from 'node:http';
import type { WebSocket } from 'ws';
import type { AudioFormat } from '../audio/codec.js';
import type { CallEvent } from '../call/Call.js';
import type { WireContext } from '../call/wire.js';
import { ChunkedOutput } from './shared/ChunkedOutput.js';
import type { MarkKind } from './shared/HeardTracker.js';
import { callFields, MediaStream, str } from './shared/MediaStream.js';
import { PlatformWire } from './shared/PlatformWire.js';

/** Asterisk's codec names earshot takes, as the call contract's format, with the codec's silence byte. */
const FORMATS: Record<string, AudioFormat & { silence: number }> = {
  ulaw: { encoding: 'mulaw', sampleRate: 8000, silence: 0xff },
  alaw: { encoding: 'alaw', sampleRate: 8000, silence: 0xd5 },
  slin: { encoding: 'pcm16', sampleRate: 8000, silence: 0 },
  slin16: { encoding: 'pcm16', sampleRate: 16000, silence: 0 },
};
/** Asterisk closes the socket and hangs up on a larger message; a frame size above it is not a codec's. */
const MAX_ASTERISK_MESSAGE = 65_500;

export class AsteriskWire extends PlatformWire {
  readonly name = 'asterisk';
  readonly path = '/v1/asterisk';
  connect(ws: WebSocket, req: IncomingMessage, ctx: WireContext): void {
    new AsteriskStream(ws, req, ctx, this.streamOptions('MEDIA_START'));
  }
}

/** A control message in either format, as an event name and its parameters. */
function parseControl(text: string): { event: string; params: Record<string, unknown>; json: boolean } | null {
  const t = text.trim();
  if (t.startsWith('{')) {
    try {
      const m = JSON.parse(t) as Record<string, unknown>;
      return m && typeof m === 'object' && typeof m.event === 'string' ? { event: m.event, params: m, json: true } : null;
    } catch {
      return null;
    }
  }
  const [event, ...rest] = t.split(/\s+/);
  if (!/^[A-Z_]+$/.test(event)) return null;
  const params: Record<string, unknown> = {};
  for (const part of rest) {
    const colon = part.indexOf(':');
    if (colon > 0) params[part.slice(0, colon)] = part.slice(colon + 1);
    else params._ = part;
  }
  return { event, params, json: false };
}

class AsteriskStream extends MediaStream {
  private json = false;
  private chunks: ChunkedOutput | null = null;
  private silence = 0;
  private frameBytes = 0;
  private readonly query: Record<string, unknown>;
  private readonly flow = { xoff: 0, errors: 0 };

  constructor(ws: WebSocket, req: IncomingMessage, ctx: WireContext, opts: ConstructorParameters<typeof MediaStream>[3]) {
    super(ws, req, ctx, opts);
    this.query = Object.fromEntries(new URL(req.url ?? '/', 'http://x').searchParams);
  }

  protected onMessage(data: Buffer, isBinary: boolean): void {
    if (this.closed) return;
    if (isBinary) return this.inbound(data);
    const c = parseControl(data.toString('utf8'));
    if (!c) return this.abort('invalid_message', 'text frame is neither a chan_websocket event line nor a JSON event', 4400);
    const p = c.params;
    switch (c.event) {
      case 'MEDIA_START':
        return this.mediaStart(p, c.json);
      case 'MEDIA_MARK_PROCESSED':
        return this.markEchoed(p.correlation_id ?? p._);
      case 'DTMF_END':
        return this.dtmf(p.digit);
      case 'MEDIA_XOFF':
        this.flow.xoff++;
        this.log.warn('Asterisk queue over its high-water mark (MEDIA_XOFF)');
        return;
      case 'ERROR':
        this.flow.errors++;
        this.log.warn({ error: str(p.error_text) ?? str(p._) }, 'Asterisk reported an error');
        return;
      default:
        // MEDIA_XON, STATUS, QUEUE_DRAINED, MEDIA_BUFFERING_COMPLETED: nothing earshot asked for or acts on.
        this.log.debug({ event: c.event }, 'ignoring a chan_websocket event');
    }
  }

  private mediaStart(p: Record<string, unknown>, json: boolean): void {
    const name = str(p.format) ?? '';
    const fmt = FORMATS[name];
    if (!fmt) return this.abort('unsupported_audio', `format ${name || '(none)'}: dial with c(ulaw), c(alaw), c(slin) or c(slin16)`, 4400);
    const frame = Number(p.optimal_frame_size);
    if (!Number.isInteger(frame) || frame <= 0 || frame > MAX_ASTERISK_MESSAGE) return this.abort('invalid_start', `optimal_frame_size ${String(p.optimal_frame_size)}`, 4400);
    this.json = json;
    this.silence = fmt.silence;
    this.frameBytes = frame;
    this.chunks = new ChunkedOutput(frame, (b) => this.sendBinary(b));
    const vars = json && p.channel_variables && typeof p.channel_variables === 'object' ? (p.channel_variables as Record<string, unknown>) : {};
    const { fields } = callFields({ ...vars, ...this.query });
    const channelId = str(p.channel_id);
    this.begin({
      ...fields,
      callId: fields.callId ?? channelId,
      audio: { encoding: fmt.encoding, sampleRate: fmt.sampleRate },
      asterisk: { channelId, channel: str(p.channel), connectionId: str(p.connection_id), format: name, ptime: Number(p.ptime) || undefined, control: json ? 'json' : 'plain-text' },
    });
  }

  private command(name: string, correlationId?: string): void {
    if (this.json) this.sendJson(correlationId === undefined ? { command: name } : { command: name, correlation_id: correlationId });
    else this.sendText(correlationId === undefined ? name : `${name} ${correlationId}`);
  }

  private sendText(line: string): void {
    if (this.closed || this.ws.readyState !== this.ws.OPEN) return;
    this.ws.send(line);
  }

  protected writeAudio(bytes: Uint8Array): void {
    this.chunks?.push(bytes);
  }

  protected writeClear(): void {
    this.chunks?.drop();
    this.command('FLUSH_MEDIA');
  }

  protected writeMark(endMs: number, kind: MarkKind, promptId: string): void {
    // After the frame that holds the audio before it, or Asterisk would process the mark first.
    this.chunks?.afterHeld(() => this.command('MARK_MEDIA', this.markName(endMs, kind, promptId)));
  }

  sendEvent(ev: CallEvent): void {
    // A prompt that ended mid-frame: Asterisk would drop the partial frame, so it is padded with silence.
    if (ev.type === 'prompt_finished' && !ev.interrupted) this.chunks?.flush(this.frameBytes, this.silence);
    super.sendEvent(ev);
  }

  protected closeInfo(): Record<string, unknown> {
    return { ...super.closeInfo(), ...this.flow };
  }
}
