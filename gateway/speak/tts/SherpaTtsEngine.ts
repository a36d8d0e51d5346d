// sherpa-onnx OfflineTts voices (vits / matcha / kokoro / kitten) from models/manifest.json, run in a helper process:
// generation is seconds of native CPU that would stall every call's audio on the main loop, and sherpa-onnx's native
// code can abort the process it runs in (a damaged model file; README: Models) — then only the helper ends, the
// sentences it owed fail with an error, and the next request starts it again (OffProcess, as the programs helper).
// Text is synthesised sentence by sentence so the first sentence plays while the rest is generated.
import { floatToInt16 } from '../../audio/codec.js';
import { resampleAll } from '../../audio/resampler.js';
import { isResolved, resolveModel, type ResolvedModel } from '../../models.js';
import { normalizeZh } from '../text/normalize.js';
import { TtsLanguageError, TtsModelMissingError } from './errors.js';
import { buildSherpaTtsConfig, type SherpaTtsTuning } from './sherpaTtsConfig.js';
import type { SynthesizeOptions, TtsEngine } from './TtsEngine.js';
import { OffProcess } from '../../infer/OffProcess.js';
import type { TtsAudio, TtsRequest } from './sherpaTts.worker.js';

export interface SherpaTtsOptions extends SherpaTtsTuning {
  /** Engine id in the registry; default the model id. */
  id?: string;
  modelsDir?: string;
  speakerId?: number;
  speed?: number;
}

/** Finds the model or throws TtsModelMissingError naming the id, the folders searched and the fetch command. */
export function resolveTtsModel(modelId: string, modelsDir?: string): ResolvedModel {
  const r = resolveModel(modelId, modelsDir);
  if (!isResolved(r)) throw new TtsModelMissingError(modelId, r.missing);
  if (r.entry.kind !== 'tts') throw new Error(`model "${modelId}" is a ${r.entry.kind} model, not a TTS voice`);
  return r;
}

const WORKER_URL = new URL('./sherpaTts.worker.ts', import.meta.url);

export class SherpaTtsEngine implements TtsEngine {
  readonly id: string;
  readonly languages: string[];
  readonly version: string;
  private readonly config: Record<string, unknown>;
  private readonly helper = new OffProcess<TtsRequest, TtsAudio>(WORKER_URL, (_req, message) => new Error(message));
  /** The model's load: its sample rate, or the load error every request then fails with (no helper is tried again). */
  private readonly ready: Promise<number>;

  constructor(
    readonly modelId: string,
    private readonly opts: SherpaTtsOptions = {},
  ) {
    const model = resolveTtsModel(modelId, opts.modelsDir);
    this.id = opts.id ?? modelId;
    this.languages = [model.entry.language ?? 'zh'];
    this.version = `sherpa-${modelId}-ls${opts.lengthScale ?? 1}`;
    this.config = buildSherpaTtsConfig(model, opts) as unknown as Record<string, unknown>;
    // Loaded now, so the first prompt does not wait for it.
    this.ready = this.helper.call({ config: this.config, text: null, sid: 0, speed: 1 }).then(
      (a) => a.sampleRate,
      (e: Error) => {
        throw new Error(`TTS model "${modelId}" failed to load: ${e.message}`);
      },
    );
    this.ready.catch(() => undefined); // surfaced on the first synthesize()
  }

  /** Resolves once the model is loaded (or rejects with the load error). */
  whenReady(): Promise<number> {
    return this.ready;
  }

  synthesize(text: string, opts: SynthesizeOptions): AsyncIterable<Int16Array> {
    if (!this.languages.includes(opts.language)) throw new TtsLanguageError(this.id, opts.language, this.languages);
    const prepared = opts.language === 'zh' ? normalizeZh(text) : text;
    const sentences = (prepared.match(/[^。！？!?.；;]+[。！？!?.；;]*/g) ?? [prepared]).map((s) => s.trim()).filter(Boolean);
    return this.render(sentences, opts);
  }

  private async *render(sentences: string[], opts: SynthesizeOptions): AsyncGenerator<Int16Array> {
    for (const s of sentences) {
      const a = await this.request(s, opts.voice);
      yield floatToInt16(a.sampleRate === opts.sampleRate ? a.samples : resampleAll(a.samples, a.sampleRate, opts.sampleRate));
    }
  }

  private async request(text: string, voice?: string): Promise<TtsAudio> {
    await this.ready;
    const sid = voice !== undefined && /^\d+$/.test(voice) ? Number(voice) : (this.opts.speakerId ?? 0);
    try {
      return await this.helper.call({ config: this.config, text, sid, speed: this.opts.speed ?? 1 });
    } catch (e) {
      throw new Error(`TTS voice "${this.id}" failed: ${(e as Error).message}`);
    }
  }

  async close(): Promise<void> {
    await this.helper.stop();
  }
}
