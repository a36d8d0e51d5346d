// Recorded prompts over HTTP: upload once, play by id on any wire (`play` without audio).
//   PUT /v1/prompts/:promptId[?loudness=-20|off]  body: the recording (WAV, FLAC, Ogg, MP3, M4A or AIFF)
//   GET /v1/prompts                               the library
//   GET /v1/prompts/:promptId                     one prompt's id, SHA-256, duration, loudness, when added
import type { Gateway, Plugin } from '../Gateway.js';
import { HttpError, readBody, sendJson } from '../ops/http.js';
import { PromptLibrary, PromptLibraryError } from '../speak/PromptLibrary.js';

const DEFAULT_LUFS = -20;
const STATUS: Partial<Record<PromptLibraryError['code'], number>> = { prompt_exists: 409, unsupported_format: 415, decode_timeout: 422 };

export class PromptsFeature implements Plugin {
  readonly name = 'prompts';
  library!: PromptLibrary;
  /** Uploads being read or decoded now (each holds its body in memory and runs two ffmpeg processes). */
  private uploading = 0;

  async start(gw: Gateway): Promise<void> {
    const l = gw.config.limits;
    this.library = new PromptLibrary({ dataDir: gw.config.dataDir, maxPromptMs: l.maxPromptMs, decodeTimeoutMs: l.promptDecodeTimeoutMs });
    gw.commands.recordedPrompt = (id, rate) => this.library.pcm(id, rate);
    const r = gw.router;
    r.add('PUT', '/v1/prompts/:promptId', async (req, res, params, url) => {
      const loudnessLufs = parseLoudness(url.searchParams.get('loudness'));
      // Refused before the body is read: uploads are rare, and each costs memory and two decoders.
      if (this.uploading >= l.maxConcurrentUploads) {
        res.setHeader('retry-after', '2');
        throw new HttpError(429, 'too_many_uploads', `${l.maxConcurrentUploads} uploads are in progress; try again shortly`);
      }
      this.uploading++;
      try {
        const body = await readBody(req, l.maxUploadBytes);
        if (!body.length) throw new HttpError(400, 'bad_audio', 'empty body: send the recording');
        const { info, created } = await this.library.put(params.promptId, body, { loudnessLufs });
        sendJson(res, created ? 201 : 200, info);
      } catch (e) {
        if (!(e instanceof PromptLibraryError)) throw e;
        throw new HttpError(STATUS[e.code] ?? 400, e.code, e.message);
      } finally {
        this.uploading--;
      }
    });
    r.add('GET', '/v1/prompts', (_q, res) => sendJson(res, 200, { prompts: this.library.list() }));
    r.add('GET', '/v1/prompts/:promptId', (_q, res, params) => {
      const info = this.library.info(params.promptId);
      if (!info) throw new HttpError(404, 'unknown_prompt', `no recorded prompt ${params.promptId}`);
      sendJson(res, 200, info);
    });
    gw.log.info({ prompts: this.library.size }, 'recorded prompts loaded');
  }
}

function parseLoudness(v: string | null): number | null {
  if (v === null) return DEFAULT_LUFS;
  if (v === 'off') return null;
  const n = Number(v);
  if (!Number.isFinite(n) || n < -70 || n > -5) throw new HttpError(400, 'invalid_message', 'loudness must be a LUFS target in [-70, -5] or "off"');
  return n;
}
