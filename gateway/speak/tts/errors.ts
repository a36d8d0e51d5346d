// Errors an operator must be able to act on without reading code: each names what is missing and how to fix it.
export class TtsModelMissingError extends Error {
  constructor(
    readonly modelId: string,
    readonly searched: string[],
  ) {
    super(
      `TTS model "${modelId}" is not installed. Looked in:\n${searched.map((s) => `  ${s}`).join('\n')}\n` +
        `Fetch it with: npm run models -- ${modelId}  (or set EARSHOT_MODELS_DIR / modelsDir to a folder that holds it)`,
    );
    this.name = 'TtsModelMissingError';
  }
}

export class TtsEngineNotFoundError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TtsEngineNotFoundError';
  }
}

export class TtsLanguageError extends Error {
  constructor(engineId: string, language: string, supported: string[]) {
    super(`TTS engine "${engineId}" cannot speak "${language}" (it speaks: ${supported.join(', ')})`);
    this.name = 'TtsLanguageError';
  }
}
