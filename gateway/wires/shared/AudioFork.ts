// The protocol of FreeSWITCH's mod_audio_fork (drachtio, and jambonz's build of it that jambonz's `listen` verb
// runs) and of mod_audio_stream, which copied it: one JSON text frame of metadata first, then binary frames of
// 16-bit linear PCM, little-endian, mono. What goes back depends on the module:
//   stream       jambonz's build with bidirectional streaming: binary L16 at the call's rate, `{"type":"killAudio"}`
//                empties its playout buffer, `{"type":"mark","data":{"name"}}` comes back as
//                `{"type":"mark","data":{"name","event":"playout"|"cleared"}}` once the audio before it has played.
//   playAudio    drachtio's mod_audio_fork: `{"type":"playAudio","data":{"audioContentType":"raw","sampleRate",
//                "audioContent"}}`, written to a file that the application plays; `killAudio` breaks that playback.
//   streamAudio  mod_audio_stream: `{"type":"streamAudio","data":{"audioDataType":"raw","sampleRate","audioData"}}`,
//                likewise a file; it has no kill of its own, so `killAudio` reaches the application as a
//                `mod_audio_stream::json` event, on which it runs `uuid_break`.
// The file modes send 100 ms files (a file per 20 ms frame would be 50 files a second), each once its last frame has
// come from the pacer, which runs a file ahead of the playout clock: the first file of a prompt leaves at once and
// every later one arrives 20–40 ms before the one playing ends, so the application plays them back to back and on
// schedule. A pause sends what is held (the playout counts it as sent, and it still plays), so at most a file and a
// half plays on after a pause; `killAudio` stops even that at a barge-in.
// The call ends with `{"type":"disconnect"}` and the socket's close.
import { bytesForMs, type AudioFormat } from '../../audio/codec.js';
import type { CallEvent } from '../../call/Call.js';
import { ChunkedOutput } from './ChunkedOutput.js';
import type { MarkKind } from './HeardTracker.js';
import { MediaStream } from './MediaStream.js';

export type ForkPlayback = 'stream' | 'playAudio' | 'streamAudio';
export const FORK_PLAYBACKS: readonly ForkPlayback[] = ['stream', 'playAudio', 'streamAudio'];
export const FORK_FILE_MS = 100;

export type ForkStart = { start: Record<string, unknown> & { audio: AudioFormat }; playback: ForkPlayback } | { code: string; error: string };

export abstract class AudioForkStream extends MediaStream {
  protected playback: ForkPlayback = 'stream';
  private files: ChunkedOutput | null = null;
  /** The file modes: a file's worth ahead of the clock (see the header). */
  playoutLeadMs = 0;

  /** The platform's first message as the call's start, or why it cannot start. */
  protected abstract startFrom(meta: Record<string, unknown>): ForkStart;

  protected onMessage(data: Buffer, isBinary: boolean): void {
    if (this.closed) return;
    if (isBinary) {
      // mod_audio_fork's graceful shutdown announces itself with an empty binary frame.
      if (data.length === 0) return;
      return this.inbound(data);
    }
    const msg = this.parseJson(data);
    if (!msg) return;
    if (!this.started) {
      const r = this.startFrom(msg);
      if ('error' in r) return this.abort(r.code, r.error, 4400);
      this.playback = r.playback;
      if (r.playback !== 'stream') {
        this.files = new ChunkedOutput(bytesForMs(r.start.audio, FORK_FILE_MS), (f) => this.sendFile(f));
        this.playoutLeadMs = FORK_FILE_MS;
      }
      return this.begin(r.start);
    }
    if (msg.type === 'mark') {
      const d = (msg.data ?? {}) as { name?: unknown; event?: unknown };
      // A mark dropped by killAudio did not play.
      if (d.event === 'cleared') return;
      return this.markEchoed(d.name);
    }
    if (msg.event === 'dtmf') return this.dtmf(msg.dtmf);
    this.log.debug({ type: msg.type, event: msg.event }, 'ignoring a message from the far end');
  }

  protected writeAudio(bytes: Uint8Array): void {
    if (this.files) this.files.push(bytes);
    else this.sendBinary(bytes);
  }

  protected writeClear(): void {
    this.files?.drop();
    this.sendJson({ type: 'killAudio' });
  }

  protected writeMark(endMs: number, kind: MarkKind, promptId: string): void {
    // Only the streaming build echoes marks; the file modes have no playback position to report.
    if (this.playback === 'stream') this.sendJson({ type: 'mark', data: { name: this.markName(endMs, kind, promptId) } });
  }

  sendEvent(ev: CallEvent): void {
    // A prompt that played to its end leaves its last, shorter file; a pause sends what the playout counts as sent.
    if ((ev.type === 'prompt_finished' && !ev.interrupted) || ev.type === 'prompt_paused') this.files?.flush();
    super.sendEvent(ev);
  }

  close(code: number, reason: string): void {
    this.sendJson({ type: 'disconnect' });
    super.close(code, reason);
  }

  private sendFile(audio: Uint8Array): void {
    const b64 = Buffer.from(audio.buffer, audio.byteOffset, audio.byteLength).toString('base64');
    const sampleRate = this.format?.sampleRate;
    if (this.playback === 'playAudio') this.sendJson({ type: 'playAudio', data: { audioContentType: 'raw', sampleRate, audioContent: b64 } });
    else this.sendJson({ type: 'streamAudio', data: { audioDataType: 'raw', sampleRate, audioData: b64 } });
  }
}
