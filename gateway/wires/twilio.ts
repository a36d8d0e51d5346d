// Twilio Media Streams, bidirectional (<Connect><Stream url="wss://…/v1/twilio">): JSON text frames only, audio is
// base64 μ-law 8 kHz. Inbound: connected, start, media, dtmf, mark, stop. Outbound: media (paced by the Call's
// Playout, one 20 ms frame per message), mark (playback position; Twilio echoes it once what was queued before
// it has played) and clear (empties Twilio's buffer on barge-in).
//
// What the callee heard is judged by mark echoes, not by bytes sent: a mark named `es|<endMs>|<kind>|<promptId>`
// goes out every `twilioMarkEveryFrames` frames, at a prompt's end (`e`) and right after a clear (`c`, a barrier:
// marks echoed after the clear was sent are not counted, since a clear makes Twilio echo dropped marks at once).
// The call then emits `prompt_heard {promptId, heardMs, complete}` for observers (SSE, scripts).
//
// Twilio cannot set headers, so this wire authenticates itself at `start`: a valid X-Twilio-Signature on the
// upgrade (HMAC-SHA1 of the stream URL keyed with the account's auth token), or a `token` custom parameter. Either
// secret being configured makes authentication required. Until `start`, messages are capped small (64 KiB).
import { createHmac } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { WebSocket } from 'ws';
import { z } from 'zod';
import { CodecError } from '../audio/codec.js';
import { decodeBase64Audio } from '../call/commands.js';
import { StartMessage } from '../call/start.js';
import type { Wire, WireContext } from '../call/wire.js';
import { tokenMatches } from '../ops/auth.js';
import type { Logger } from '../ops/log.js';
import type { WiresConfig } from './config.js';
import { clip } from '../ops/clientText.js';
import { AdmissionBuffer } from './shared/AdmissionBuffer.js';
import { BufferingFarEnd } from './shared/BufferingFarEnd.js';
import type { MarkKind } from './shared/HeardTracker.js';

const Seq = z.union([z.string(), z.number()]).optional();

/** Twilio SIDs are 34 characters; a little room, and no more (they go into every log line of the call). */
const Sid = z.string().min(1).max(64);
const TwilioStart = z.object({
  event: z.literal('start'),
  sequenceNumber: Seq,
  streamSid: Sid,
  start: z.object({
    streamSid: Sid.optional(),
    accountSid: Sid.optional(),
    callSid: Sid,
    tracks: z.array(z.string()).optional(),
    customParameters: z.record(z.string(), z.string()).optional(),
    mediaFormat: z.object({ encoding: z.string(), sampleRate: z.number(), channels: z.number().optional() }).optional(),
  }),
});
const TwilioMedia = z.object({
  event: z.literal('media'),
  sequenceNumber: Seq,
  streamSid: z.string(),
  media: z.object({ track: z.string().optional(), chunk: z.string().optional(), timestamp: z.string().optional(), payload: z.string() }),
});
const TwilioDtmf = z.object({ event: z.literal('dtmf'), streamSid: z.string(), dtmf: z.object({ track: z.string().optional(), digit: z.string() }) });
const TwilioMark = z.object({ event: z.literal('mark'), streamSid: z.string(), mark: z.object({ name: z.string() }) });

/** Twilio's request signature for a URL without POST parameters: base64(HMAC-SHA1(authToken, url)). */
export function twilioSignature(authToken: string, url: string): string {
  return createHmac('sha1', authToken).update(Buffer.from(url, 'utf8')).digest('base64');
}

export class TwilioWire implements Wire {
  readonly name = 'twilio';
  readonly path = '/v1/twilio';
  readonly selfAuth = true;
  /**
   * Twilio's messages are 20 ms of base64 μ-law and small JSON; anything near this is not Twilio. Enforced while the
   * frame is read, so before `start` authenticates the stream (7 MiB frames used to be read for 10 s).
   */
  readonly maxPayload: number;

  constructor(
    private readonly cfg: WiresConfig,
    maxPayload: number,
  ) {
    this.maxPayload = maxPayload;
  }

  connect(ws: WebSocket, req: IncomingMessage, ctx: WireContext): void {
    new TwilioConnection(ws, req, ctx, this.cfg);
  }
}

class TwilioConnection extends BufferingFarEnd {
  private starting = false;
  private bound = false;
  /** Media that arrives during admission, replayed once the call exists. */
  private readonly early = new AdmissionBuffer<Buffer>();
  private streamSid = '';
  protected log: Logger;
  private readonly signatureOk: boolean;
  private lastSeq = 0;
  readonly counters = { seqGaps: 0, seqMissing: 0, seqOutOfOrder: 0, earlyMedia: 0, marksEchoed: 0, mediaIn: 0 };

  constructor(
    ws: WebSocket,
    req: IncomingMessage,
    gw: WireContext,
    private readonly cfg: WiresConfig,
  ) {
    super(ws, req.socket, gw, cfg.twilioMarkEveryFrames);
    this.log = gw.log.child({ wire: 'twilio' });
    this.signatureOk = this.checkSignature(req);
    this.attach('twilio', () => !this.call && !this.starting, 'start message');
  }

  private checkSignature(req: IncomingMessage): boolean {
    const token = this.cfg.twilioAuthToken;
    const given = req.headers['x-twilio-signature'];
    if (!token || typeof given !== 'string' || !given) return false;
    // X-Forwarded-Host is anyone's to send: believed only when the operator says a proxy in front sets it.
    const fwd = this.cfg.twilioTrustForwardedHost ? req.headers['x-forwarded-host'] : undefined;
    const host = (typeof fwd === 'string' && fwd) || req.headers.host || '';
    const path = req.url ?? this.path;
    const candidates = this.cfg.twilioPublicUrl ? [this.cfg.twilioPublicUrl] : [`wss://${host}${path}`, `https://${host}${path}`];
    let ok = false;
    for (const url of candidates) if (tokenMatches(twilioSignature(token, url), given)) ok = true;
    return ok;
  }

  private get path(): string {
    return '/v1/twilio';
  }

  // --- far end ------------------------------------------------------------------------------------------------
  protected writeAudio(bytes: Uint8Array): void {
    this.send({ event: 'media', streamSid: this.streamSid, media: { payload: Buffer.from(bytes).toString('base64') } });
  }

  protected writeClear(): void {
    this.send({ event: 'clear', streamSid: this.streamSid });
  }

  protected writeMark(endMs: number, kind: MarkKind, promptId: string): void {
    this.send({ event: 'mark', streamSid: this.streamSid, mark: { name: `es|${endMs}|${kind}|${promptId}` } });
  }

  protected closeInfo(): Record<string, unknown> {
    return { streamSid: this.streamSid, ...this.counters };
  }

  // --- inbound -------------------------------------------------------------------------------------------------
  private send(obj: unknown): void {
    this.sendJson(obj);
  }

  protected logContext(): Record<string, unknown> {
    // Once the call started, the logger carries callId and streamSid already.
    return this.bound ? {} : { streamSid: this.streamSid };
  }

  private checkSeq(raw: unknown): void {
    if (raw === undefined) {
      this.counters.seqMissing++;
      return;
    }
    const n = Number(raw);
    if (!Number.isInteger(n)) {
      this.counters.seqMissing++;
      return;
    }
    if (this.lastSeq && n <= this.lastSeq) {
      this.counters.seqOutOfOrder++;
      this.log.debug({ seq: n, last: this.lastSeq }, 'sequenceNumber out of order');
      return;
    }
    if (this.lastSeq && n > this.lastSeq + 1) {
      this.counters.seqGaps += n - this.lastSeq - 1;
      this.log.debug({ seq: n, last: this.lastSeq }, 'sequenceNumber gap');
    }
    this.lastSeq = n;
  }

  protected onMessage(data: Buffer, isBinary: boolean): void {
    if (this.closed) return;
    if (isBinary) return this.abort('binary_frame', 'Twilio streams carry JSON text frames only', 4400);
    let msg: { event?: unknown; sequenceNumber?: unknown; streamSid?: unknown };
    try {
      msg = JSON.parse(data.toString('utf8'));
    } catch {
      return this.abort('malformed_json', 'message is not valid JSON', 4400);
    }
    if (!msg || typeof msg !== 'object' || typeof msg.event !== 'string') return this.abort('invalid_message', 'message has no "event"', 4400);
    if (msg.event === 'connected') return;
    this.checkSeq(msg.sequenceNumber);
    if (msg.event === 'start') return this.onStart(msg);
    if (!this.streamSid) return this.abort('not_started', `"${msg.event}" before "start"`, 4400);
    if (msg.streamSid !== this.streamSid) return this.abort('unknown_stream', `message for stream ${clip(String(msg.streamSid))} on stream ${this.streamSid}`, 4404);
    switch (msg.event) {
      case 'media':
        return this.onMedia(msg);
      case 'dtmf': {
        const m = TwilioDtmf.safeParse(msg);
        if (!m.success) return this.abort('invalid_message', z.prettifyError(m.error), 4400);
        if (this.call && /^[0-9*#A-D]$/.test(m.data.dtmf.digit)) this.gw.command(this.call, { type: 'dtmf', digit: m.data.dtmf.digit });
        return;
      }
      case 'mark': {
        const m = TwilioMark.safeParse(msg);
        if (!m.success) return this.abort('invalid_message', z.prettifyError(m.error), 4400);
        return this.onMark(m.data.mark.name);
      }
      case 'stop':
        // A call that is already ending (hangup in progress) closes this stream itself once its summary is out;
        // closing here would free the callId while the old call is still finishing.
        if (this.call) {
          if (!this.call.isEnded) void this.call.end('stop');
        } else this.close(1000, 'stop');
        return;
      default:
        this.log.debug({ event: msg.event }, 'ignoring unknown Twilio event');
    }
  }

  private onStart(raw: unknown): void {
    if (this.streamSid) return this.abort('already_started', 'this stream already started', 4400);
    const m = TwilioStart.safeParse(raw);
    if (!m.success) return this.abort('invalid_start', z.prettifyError(m.error), 4400);
    const st = m.data.start;
    this.streamSid = m.data.streamSid;
    const fmt = st.mediaFormat;
    if (fmt && (fmt.encoding !== 'audio/x-mulaw' || fmt.sampleRate !== 8000)) {
      return this.abort('unsupported_audio', `media format ${fmt.encoding}/${fmt.sampleRate} (expected audio/x-mulaw 8000)`, 4400);
    }
    const { token, callId, language, callType, callee, script, ...custom } = st.customParameters ?? {};
    // Authentication is required as soon as either secret is configured: the Twilio auth token (a valid
    // X-Twilio-Signature) or the gateway's API token (as the `token` custom parameter); either one will do.
    const apiToken = this.gw.config.apiToken;
    const required = !!apiToken || !!this.cfg.twilioAuthToken;
    if (required && !this.signatureOk && !(apiToken && tokenMatches(apiToken, token))) {
      return this.abort('unauthorized', this.cfg.twilioAuthToken ? 'no valid X-Twilio-Signature (and no valid token parameter)' : 'no valid token parameter', 4401);
    }
    const s = StartMessage.safeParse({
      type: 'start',
      callId: callId ?? st.callSid,
      language: language || undefined,
      callType: callType || undefined,
      callee: callee || undefined,
      script: script || undefined,
      audio: { encoding: 'mulaw', sampleRate: 8000 },
      twilio: { streamSid: this.streamSid, callSid: st.callSid, accountSid: st.accountSid, customParameters: custom },
    });
    if (!s.success) return this.abort('invalid_start', z.prettifyError(s.error), 4400);
    const refused = this.gw.refuseStart(s.data.callId);
    if (refused) return this.abort(refused.code, refused.message, refused.code === 'duplicate_call' ? 4409 : 1013);
    clearTimeout(this.startTimer);
    this.starting = true;
    this.log = this.log.child({ callId: s.data.callId, streamSid: this.streamSid });
    this.bound = true;
    void this.gw.startCall(s.data, 'twilio', this, () => this.closed).then((call) => {
      this.starting = false;
      if (!call) return;
      this.call = call;
      for (const b of this.early.drain()) this.feed(b);
    });
  }

  private onMedia(raw: unknown): void {
    const m = TwilioMedia.safeParse(raw);
    if (!m.success) return this.abort('invalid_message', z.prettifyError(m.error), 4400);
    if (m.data.media.track && m.data.media.track !== 'inbound' && m.data.media.track !== 'inbound_track') return;
    const bytes = decodeBase64Audio(m.data.media.payload);
    if (!bytes) return this.abort('bad_base64', 'media.payload is not valid base64', 4400);
    const ms = bytes.length / 8;
    if (ms > this.gw.config.limits.maxInboundFrameMs) return this.abort('frame_too_long', `media of ${ms} ms exceeds ${this.gw.config.limits.maxInboundFrameMs} ms`, 4400);
    if (!this.call) {
      this.counters.earlyMedia++;
      this.early.push(bytes, ms);
      return;
    }
    this.feed(bytes);
  }

  private feed(bytes: Buffer): void {
    if (!this.call || this.call.isEnded) return;
    this.counters.mediaIn++;
    try {
      this.call.audio(bytes);
    } catch (e) {
      if (e instanceof CodecError) return this.abort(e.code, e.message, 4400);
      throw e;
    }
  }

  private onMark(name: string): void {
    const parts = name.split('|');
    if (parts.length < 4 || parts[0] !== 'es') return; // not ours
    this.counters.marksEchoed++;
    const endMs = Number(parts[1]);
    const kind = parts[2];
    const promptId = parts.slice(3).join('|');
    if (this.call) this.heard.echoed(promptId, endMs, kind);
  }
}
