// The one contract every speech-output engine meets. Engines stream: the first phrase is yielded as soon as it is
// rendered, so playout can start while the rest of a long prompt is still being synthesised.
export type TtsLanguage = 'zh' | 'en';
export type TtsSampleRate = 8000 | 16000;

export interface SynthesizeOptions {
  language: TtsLanguage;
  sampleRate: TtsSampleRate;
  voice?: string;
}

export interface TtsEngine {
  id: string;
  languages: string[];
  /** Bumped when the engine's output for the same input changes, so cached renders are invalidated. */
  version?: string;
  synthesize(text: string, opts: SynthesizeOptions): AsyncIterable<Int16Array>;
}

/** Collects a whole render (tests, cache fills). */
export async function collectPcm(chunks: AsyncIterable<Int16Array>): Promise<Int16Array> {
  const parts: Int16Array[] = [];
  let n = 0;
  for await (const c of chunks) {
    parts.push(c);
    n += c.length;
  }
  const out = new Int16Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
