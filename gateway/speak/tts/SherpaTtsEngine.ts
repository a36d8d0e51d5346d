// sherpa-onnx OfflineTts voices (vits / matcha / kokoro / kitten) from models/manifest.json, run in a helper process:
// generation is seconds of native CPU that would stall every call's audio on the main loop, and sherpa-onnx's native
// code can abort the process it runs in (a damaged model file; README: Models) — then only the helper ends, the
// sentences it owed fail with an error, and the next request starts it again.
// Text is synthesised sentence by sentence so the first sentence plays while the rest is generated.
import { floatToInt16 } from '../../audio/codec.js';
import { resampleAll } from '../../audio/resampler.js';
import { isResolved, resolveModel, type ResolvedModel } from '../../models.js';
import { normalizeZh } from '../text/normalize.js';
import { TtsLanguageError, TtsModelMissingError } from './errors.js';
import { buildSherpaTtsConfig, type SherpaTtsTuning } from './sherpaTtsConfig.js';
import type { SynthesizeOptions, TtsEngine } from './TtsEngine.js';
import { startHost, type Host } from '../../infer/Host.js';
import type { TtsReply, TtsRequest } from './sherpaTts.worker.js';

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

const WORKER_URL = new URL('./sherpaTts.worker.ts', import.meta.url);

export class SherpaTtsEngine implements TtsEngine {
  readonly id: string;
  readonly languages: string[];
  readonly version: string;
  private readonly config: Record<string, unknown>;
  /** The running helper and its model load; null once it ended (the next request starts another). */
  private helper: { host: Host; ready: Promise<number> } | null = null;
  /** The model failed to load: every request fails with this, no helper is started again. */
  private loadError: Error | null = null;
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
    this.config = buildSherpaTtsConfig(model, opts) as unknown as Record<string, unknown>;
    // Loaded now, so the first prompt does not wait for it.
    this.started().ready.catch(() => undefined); // surfaced on the first synthesize()
  }

  /** Resolves once the model is loaded (or rejects with the load error). */
  whenReady(): Promise<number> {
    return this.loadError ? Promise.reject(this.loadError) : this.started().ready;
  }

  private started(): { host: Host; ready: Promise<number> } {
    if (this.helper) return this.helper;
    // Held while it loads (someone may be waiting for it) and while a request waits; let go otherwise.
    const host = startHost('process', WORKER_URL, { config: this.config });
    let loaded = false;
    let lastError = '';
    const ready = new Promise<number>((resolve, reject) => {
      host.onMessage((m: TtsReply) => {
        if (m.type === 'ready') {
          loaded = true;
          if (!this.pending.size) host.hold(false);
          resolve(m.sampleRate);
        } else if (m.type === 'error' && m.id === undefined) lastError = m.message;
        else this.settle(m);
      });
      host.onDeath((why) => {
        if (this.helper?.host === host) this.helper = null;
        if (!loaded) {
          this.loadError = new Error(`TTS model "${this.modelId}" failed to load: ${lastError || why}`);
          reject(this.loadError);
        }
        for (const [id, p] of this.pending) {
          this.pending.delete(id);
          p.reject(new Error(`TTS voice "${this.id}" failed: ${why}`));
        }
        host.hold(false);
      });
    });
    return (this.helper = { host, ready });
  }

  private settle(m: Exclude<TtsReply, { type: 'ready' }>): void {
    const p = m.id === undefined ? undefined : this.pending.get(m.id);
    if (!p || m.id === undefined) return;
    this.pending.delete(m.id);
    if (!this.pending.size) this.helper?.host.hold(false);
    if (m.type === 'audio') p.resolve({ samples: m.samples, sampleRate: m.sampleRate });
    else p.reject(new Error(m.message));
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

  private async request(text: string, voice?: string): Promise<{ samples: Float32Array; sampleRate: number }> {
    if (this.loadError) throw this.loadError;
    const { host, ready } = this.started();
    await ready;
    // It ended while this request waited for the load: nothing would answer a post.
    if (this.helper?.host !== host) throw new Error(`TTS voice "${this.id}" failed: its helper process ended`);
    const id = this.nextId++;
    const sid = voice !== undefined && /^\d+$/.test(voice) ? Number(voice) : (this.opts.speakerId ?? 0);
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      host.hold(true);
      host.post({ type: 'synth', id, text, sid, speed: this.opts.speed ?? 1 } satisfies TtsRequest);
    });
  }

  async close(): Promise<void> {
    await this.helper?.host.stop();
    this.helper = null;
  }
}
