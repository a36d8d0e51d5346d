// Picks the engine for a prompt: by explicit id, else the configured default for the prompt's language.
import { TtsEngineNotFoundError, TtsLanguageError } from './errors.js';
import type { TtsEngine, TtsLanguage } from './TtsEngine.js';

export class TtsRegistry {
  private readonly engines = new Map<string, TtsEngine>();
  private readonly defaults = new Map<string, string>();

  register(engine: TtsEngine, opts: { defaultFor?: TtsLanguage[] } = {}): this {
    if (this.engines.has(engine.id)) throw new Error(`TTS engine "${engine.id}" is already registered`);
    this.engines.set(engine.id, engine);
    for (const lang of opts.defaultFor ?? []) this.setDefault(lang, engine.id);
    return this;
  }

  setDefault(language: TtsLanguage, engineId: string): void {
    const e = this.engines.get(engineId);
    if (!e) throw new TtsEngineNotFoundError(`cannot make "${engineId}" the ${language} default: it is not registered (registered: ${this.ids().join(', ') || 'none'})`);
    if (!e.languages.includes(language)) throw new TtsLanguageError(engineId, language, e.languages);
    this.defaults.set(language, engineId);
  }

  ids(): string[] {
    return [...this.engines.keys()];
  }

  /** Engine by id (checked against the language when one is given), else the language default. */
  pick(sel: { engine?: string; language: TtsLanguage }): TtsEngine {
    if (sel.engine) {
      const e = this.engines.get(sel.engine);
      if (!e) throw new TtsEngineNotFoundError(`TTS engine "${sel.engine}" is not registered (registered: ${this.ids().join(', ') || 'none'})`);
      if (!e.languages.includes(sel.language)) throw new TtsLanguageError(e.id, sel.language, e.languages);
      return e;
    }
    const id = this.defaults.get(sel.language);
    if (id) return this.engines.get(id)!;
    // No configured default: the first registered engine that speaks the language.
    for (const e of this.engines.values()) if (e.languages.includes(sel.language)) return e;
    throw new TtsEngineNotFoundError(`no TTS engine speaks "${sel.language}" (registered: ${this.ids().join(', ') || 'none'})`);
  }
}
