// `say`: text → speech streamed into the call. Picks the engine (message voice → start message voice/tts → script
// voice → language default), renders at the call's rate and starts playout with the first synthesised phrase
// (`open` prompt + playout.append for the rest). Approved script lines go through the PromptCache (fixed parts
// pre-rendered, first frame in milliseconds); free text is synthesised per call and allowed only on the call
// types the configuration permits (`scripts.freeTextCallTypes`); elsewhere it is refused as `unapproved_text`.
import type { Call } from '../call/Call.js';
import type { Gateway, Plugin } from '../Gateway.js';
import type { ScriptsConfig } from '../script/config.js';
import { createTtsRegistry, PromptCache, renderTemplate, speakTemplate, TemplateError, TtsEngineNotFoundError, TtsLanguageError, type StreamedPrompt, type TtsEngine, type TtsRegistry } from '../speak/index.js';

/** An error the wire reports with `code` (native.ts sends `e.code`). */
export class SayError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'SayError';
  }
}

export interface ApprovedPrompt {
  node: string;
  template: string;
  slots: Record<string, string>;
  requiresConsent: boolean;
}

/** What the scripts feature tells `say` about a call: its approved lines and whether consent was granted. */
export interface SayGuard {
  approvedPrompt(call: Call, text: string, slots: Record<string, string> | undefined): ApprovedPrompt | null;
  consentGranted(call: Call): boolean;
  scriptVoice(call: Call): string | undefined;
}

export interface SayRequest {
  promptId: string;
  text: string;
  interruptible: boolean;
  voice?: string;
  slots?: Record<string, string>;
}

export interface SpeakResult {
  cached: boolean;
  /** Request → first chunk handed to playout, ms. */
  firstChunkMs: number;
}

export class SpeechFeature implements Plugin {
  readonly name = 'speech';
  registry!: TtsRegistry;
  cache!: PromptCache;
  guard: SayGuard | null = null;
  private cfg!: ScriptsConfig;
  private gw!: Gateway;

  async start(gw: Gateway): Promise<void> {
    this.gw = gw;
    this.cfg = gw.config.scripts;
    const tts = gw.config.tts;
    this.registry = createTtsRegistry(gw.config, {
      onUnavailable: (id, e) => gw.log.warn({ engine: id, err: e.message }, 'TTS engine unavailable; using the other engines'),
    });
    this.cache = new PromptCache({ dataDir: gw.config.dataDir, maxMemoryBytes: tts.cacheMemoryMB * 1024 * 1024 });
    gw.commands.say = async (call, m) => {
      await this.say(call, m);
    };
    gw.commands.playRefusal = (call) =>
      this.cfg.rawAudioCallTypes.includes(call.init.callType)
        ? null
        : { code: 'unapproved_audio', message: `audio cannot be played on ${call.init.callType} calls (scripts.rawAudioCallTypes): say a prompt of the call's approved script` };
  }

  /** The engine for this call: explicit voice, the start message's voice/tts, the script's voice, else the default. */
  engineFor(call: Call, voice?: string): TtsEngine {
    const extra = call.init.extra ?? {};
    const fromStart = typeof extra.voice === 'string' ? extra.voice : typeof extra.tts === 'string' ? extra.tts : undefined;
    const engine = voice ?? fromStart ?? this.guard?.scriptVoice(call);
    try {
      return this.registry.pick({ engine, language: call.init.language });
    } catch (e) {
      if (e instanceof TtsEngineNotFoundError || e instanceof TtsLanguageError) throw new SayError('unknown_voice', e.message);
      throw e;
    }
  }

  /** The `say` command as clients send it: checks what may be said on this call, then speaks. */
  async say(call: Call, m: SayRequest): Promise<SpeakResult> {
    const startSlots = slotsOf(call);
    const approved = this.guard?.approvedPrompt(call, m.text, m.slots) ?? null;
    if (approved) {
      if (approved.requiresConsent && !this.guard!.consentGranted(call)) {
        throw new SayError('consent_required', `prompt "${approved.node}" may only be played after the callee granted consent on this call`);
      }
      return this.speak(call, { promptId: m.promptId, template: approved.template, slots: approved.slots, interruptible: m.interruptible, voice: m.voice });
    }
    if (!this.cfg.freeTextCallTypes.includes(call.init.callType)) {
      throw new SayError('unapproved_text', `free text is not allowed on ${call.init.callType} calls: say a prompt of the call's approved script`);
    }
    // Free text may hold personal data and varies per call: synthesised, never written to the disk cache.
    const text = m.slots ? renderOrThrow(m.text, { ...startSlots, ...m.slots }).map((s) => s.text).join('') : m.text;
    return this.speak(call, { promptId: m.promptId, freeText: text, interruptible: m.interruptible, voice: m.voice });
  }

  /**
   * Streams a prompt into the call, no permission checks (the script runner has made them). A template's fixed
   * parts come from the cache; slot values and free text are synthesised.
   */
  async speak(
    call: Call,
    p: { promptId: string; interruptible: boolean; voice?: string } & ({ template: string; slots: Record<string, string> } | { freeText: string }),
  ): Promise<SpeakResult> {
    const t0 = performance.now();
    if (call.isEnded) throw new SayError('call_ended', 'the call has ended');
    if (call.playout.queued >= this.gw.config.limits.maxQueuedPrompts) throw new SayError('queue_full', 'too many prompts queued');
    const engine = this.engineFor(call, p.voice);
    const opts = { language: call.init.language, sampleRate: call.format.sampleRate as 8000 | 16000 };
    let parts: (StreamedPrompt | AsyncIterable<Int16Array>)[];
    let text: string;
    if ('template' in p) {
      const segs = renderOrThrow(p.template, p.slots);
      text = segs.map((s) => s.text).join('');
      parts = speakTemplate(segs, this.cache, engine, opts).map((x) => x.audio);
    } else {
      text = p.freeText;
      parts = [engine.synthesize(text, opts)];
    }
    const cached = parts.length > 0 && parts.every((x) => 'cached' in x && x.cached);
    let cancelled = false;
    const off = call.observe((ev) => {
      if (ev.type === 'prompt_finished' && ev.promptId === p.promptId) cancelled = true;
    });
    let started = false;
    let firstChunkMs = -1;
    try {
      for (const part of parts) {
        const it = 'all' in part ? part.all : part;
        for await (const chunk of it) {
          if (cancelled || call.isEnded) break;
          if (!started) {
            call.play({ promptId: p.promptId, pcm: chunk, interruptible: p.interruptible, text, open: true });
            started = true;
            firstChunkMs = performance.now() - t0;
          } else call.playout.append(p.promptId, chunk, false);
        }
        if (cancelled || call.isEnded) break;
      }
    } catch (e) {
      if (started) call.playout.append(p.promptId, new Int16Array(0), true);
      throw new SayError('tts_failed', `speech synthesis failed: ${(e as Error).message}`);
    } finally {
      off();
    }
    if (!started) {
      if (!call.isEnded) call.play({ promptId: p.promptId, pcm: new Int16Array(0), interruptible: p.interruptible, text });
    } else call.playout.append(p.promptId, new Int16Array(0), true);
    return { cached, firstChunkMs };
  }
}

function renderOrThrow(template: string, slots: Record<string, string>) {
  try {
    return renderTemplate(template, slots);
  } catch (e) {
    if (e instanceof TemplateError) throw new SayError('missing_slot', e.message);
    throw e;
  }
}

/** Slot values from the start message (`slots: {name: "王先生"}`). */
export function slotsOf(call: Call): Record<string, string> {
  const s = call.init.extra?.slots;
  if (!s || typeof s !== 'object') return {};
  return Object.fromEntries(Object.entries(s as Record<string, unknown>).filter(([, v]) => typeof v === 'string' || typeof v === 'number').map(([k, v]) => [k, String(v)]));
}
