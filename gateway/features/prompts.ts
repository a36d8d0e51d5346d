// Recorded prompts over HTTP: upload once, play by id on any wire (`play` without audio).
//   PUT /v1/prompts/:promptId[?loudness=-20|off]  body: the recording (WAV, MP3, … anything ffmpeg reads)
//   GET /v1/prompts                               the library
//   GET /v1/prompts/:promptId                     one prompt's id, SHA-256, duration, loudness, when added
import type { Gateway, Plugin } from '../Gateway.js';
import { HttpError, readBody, sendJson } from '../ops/http.js';
import { PgPromptStore } from '../speak/PgPromptStore.js';
import { PromptLibrary, PromptLibraryError } from '../speak/PromptLibrary.js';
import { fleetDatabase } from '../store/engine.js';

/** A recorded prompt file: a minute of 16-bit 48 kHz stereo WAV is ~11 MB. */
const MAX_UPLOAD_BYTES = 32 * 1024 * 1024;
const DEFAULT_LUFS = -20;

export class PromptsFeature implements Plugin {
  readonly name = 'prompts';
  library!: PromptLibrary;

  async start(gw: Gateway): Promise<void> {
    const fleet = fleetDatabase(gw.config);
    const store = fleet ? await PgPromptStore.open(fleet.pg, fleet.release) : undefined;
    this.library = await PromptLibrary.open({ dataDir: gw.config.dataDir, maxPromptMs: gw.config.limits.maxPromptMs, store });
    gw.commands.recordedPrompt = (id, rate) => {
      const pcm = this.library.pcm(id, rate);
      // Uploaded to another instance a moment ago, its announcement not here yet: fetched now, so a retry plays.
      if (!pcm) void this.library.ensure(id);
      return pcm;
    };
    const r = gw.router;
    r.add('PUT', '/v1/prompts/:promptId', async (req, res, params, url) => {
      const loudnessLufs = parseLoudness(url.searchParams.get('loudness'));
      const body = await readBody(req, MAX_UPLOAD_BYTES);
      if (!body.length) throw new HttpError(400, 'bad_audio', 'empty body: send the recording');
      try {
        const { info, created } = await this.library.put(params.promptId, body, { loudnessLufs });
        sendJson(res, created ? 201 : 200, info);
      } catch (e) {
        if (!(e instanceof PromptLibraryError)) throw e;
        throw new HttpError(e.code === 'prompt_exists' ? 409 : 400, e.code, e.message);
      }
    });
    r.add('GET', '/v1/prompts', (_q, res) => sendJson(res, 200, { prompts: this.library.list() }));
    r.add('GET', '/v1/prompts/:promptId', (_q, res, params) => {
      const info = this.library.info(params.promptId);
      if (!info) throw new HttpError(404, 'unknown_prompt', `no recorded prompt ${params.promptId}`);
      sendJson(res, 200, info);
    });
    gw.log.info({ prompts: this.library.size, store: fleet ? 'postgres' : 'files' }, 'recorded prompts loaded');
  }

  async stop(): Promise<void> {
    await this.library?.close();
  }
}

function parseLoudness(v: string | null): number | null {
  if (v === null) return DEFAULT_LUFS;
  if (v === 'off') return null;
  const n = Number(v);
  if (!Number.isFinite(n) || n < -70 || n > -5) throw new HttpError(400, 'invalid_message', 'loudness must be a LUFS target in [-70, -5] or "off"');
  return n;
}
