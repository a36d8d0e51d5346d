// Script lines with slots: "您好{name}，您的账单{amount}元". The fixed text between slots is the same on every call,
// so it is rendered once and cached; only the slot values are synthesised at call time.
import type { PromptCache, StreamedPrompt } from './PromptCache.js';
import type { SynthesizeOptions, TtsEngine } from './tts/TtsEngine.js';

export interface TemplateSegment {
  kind: 'fixed' | 'slot';
  text: string;
  /** Slot name for kind 'slot'. */
  name?: string;
}

export class TemplateError extends Error {}

/** Splits a template and substitutes values; ordered segments, empty fixed parts dropped. */
export function renderTemplate(template: string, values: Record<string, string | number>): TemplateSegment[] {
  const out: TemplateSegment[] = [];
  const re = /\{([A-Za-z_][A-Za-z0-9_]*)\}/g;
  let last = 0;
  for (const m of template.matchAll(re)) {
    if (m.index! > last) out.push({ kind: 'fixed', text: template.slice(last, m.index) });
    const name = m[1];
    if (!(name in values)) throw new TemplateError(`template slot {${name}} has no value (given: ${Object.keys(values).join(', ') || 'none'})`);
    out.push({ kind: 'slot', name, text: String(values[name]) });
    last = m.index! + m[0].length;
  }
  if (last < template.length) out.push({ kind: 'fixed', text: template.slice(last) });
  return out;
}

/** Fixed parts of a template, for PromptCache.warm at script approval. */
export function templateFixedParts(template: string): string[] {
  return template.split(/\{[A-Za-z_][A-Za-z0-9_]*\}/).filter((s) => s.length > 0);
}

/** Ordered streams to play back to back: fixed parts through the cache, slot values synthesised (not cached). */
export function speakTemplate(
  segments: TemplateSegment[],
  cache: PromptCache,
  engine: TtsEngine,
  opts: SynthesizeOptions,
): { segment: TemplateSegment; audio: StreamedPrompt | AsyncIterable<Int16Array> }[] {
  return segments.map((segment) => ({
    segment,
    // Slot values (names, amounts) vary per call and may be personal data: never written to the disk cache.
    audio: segment.kind === 'fixed' ? cache.getOrSynthesize(segment.text, engine, opts) : engine.synthesize(segment.text, opts),
  }));
}
