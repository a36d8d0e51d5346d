// sherpa-onnx OfflineTts voices (vits / matcha / kokoro / kitten) from models/manifest.json, run in a worker
// thread because generation is seconds of native CPU that would stall every call's audio on the main loop.
// Text is synthesised sentence by sentence so the first sentence plays while the rest is generated.
import type { Worker } from 'node:worker_threads';
import { floatToInt16 } from '../../audio/codec.js';
import { resampleAll } from '../../audio/resampler.js';
import { isResolved, resolveModel, type ResolvedModel } from '../../models.js';
import { normalizeZh } from '../text/normalize.js';
import { TtsLanguageError, TtsModelMissingError } from './errors.js';
import { buildSherpaTtsConfig, type SherpaTtsTuning } from './sherpaTtsConfig.js';
import type { SynthesizeOptions, TtsEngine } from './TtsEngine.js';
import { startTsWorker } from './tsWorker.js';

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

type Pending = { resolve: (v: { samples: Float32Array; sampleRate: number }) => void; reject: (e: Error) => void };

export class SherpaTtsEngine implements TtsEngine {
  readonly id: string;
  readonly languages: string[];
  readonly version: string;
  private readonly worker: Worker;
  private readonly ready: Promise<number>;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;

  constructor(
    readonly modelId: string,
    private readonly opts: SherpaTtsOptions = {},
  ) {
    const model = resolveTtsModel(modelId, opts.modelsDir);
    this.id = opts.id ?? modelId;
    this.languages = [model.entry.language ?? 'zh'];
    this.version = `sherpa-${modelId}-ls${opts.lengthScale ?? 1}`;
    const config = buildSherpaTtsConfig(model, opts);
    this.worker = startTsWorker(new URL('./sherpaTts.worker.ts', import.meta.url));
    this.worker.unref();
    this.ready = new Promise((resolveP, rejectP) => {
      const onMsg = (m: { type: string; id?: number; sampleRate?: number; samples?: Float32Array; message?: string }) => {
        if (m.type === 'ready') resolveP(m.sampleRate!);
        else if (m.type === 'error' && m.id === undefined) rejectP(new Error(`TTS model "${modelId}" failed to load: ${m.message}`));
        else if (m.id !== undefined) {
          const p = this.pending.get(m.id);
          this.pending.delete(m.id);
          if (m.type === 'audio') p?.resolve({ samples: m.samples!, sampleRate: m.sampleRate! });
          else p?.reject(new Error(m.message));
        }
      };
      this.worker.on('message', onMsg);
      this.worker.on('error', (e) => rejectP(e));
    });
    this.ready.catch(() => undefined); // surfaced on the first synthesize()
    this.worker.postMessage({ type: 'init', config });
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
    await this.ready;
    for (const s of sentences) {
      const a = await this.request(s, opts.voice);
      yield floatToInt16(a.sampleRate === opts.sampleRate ? a.samples : resampleAll(a.samples, a.sampleRate, opts.sampleRate));
    }
  }

  private request(text: string, voice?: string): Promise<{ samples: Float32Array; sampleRate: number }> {
    const id = this.nextId++;
    const sid = voice !== undefined && /^\d+$/.test(voice) ? Number(voice) : (this.opts.speakerId ?? 0);
    return new Promise((resolveP, rejectP) => {
      this.pending.set(id, { resolve: resolveP, reject: rejectP });
      this.worker.postMessage({ type: 'synth', id, text, sid, speed: this.opts.speed ?? 1 });
    });
  }

  async close(): Promise<void> {
    await this.worker.terminate();
  }
}
