// Builds the sherpa-onnx-node `modelConfig` / `featConfig` from a manifest entry and resolved files, so adding a
// streaming model is a manifest edit, not code. Field names follow node_modules/sherpa-onnx-node/types.js.
import { existsSync } from 'node:fs';
import type { AsrEngineSpec } from './engine.js';

export function featConfig(spec: AsrEngineSpec): { sampleRate: number; featureDim: number } {
  return { sampleRate: spec.entry.sampleRate ?? 16000, featureDim: spec.entry.featureDim ?? 80 };
}

function need(spec: AsrEngineSpec, role: string): string {
  const p = spec.files[role];
  if (!p) throw new Error(`model ${spec.entry.id}: manifest has no "${role}" file for engine ${spec.entry.engine}`);
  // sherpa rejects a missing file with only "Please check your config!": say which file.
  if (!existsSync(p)) throw new Error(`model ${spec.entry.id}: ${role} file ${p} does not exist`);
  return p;
}

/** Every file of the model must exist; named by role, because sherpa's own message does not say which. */
export function checkFilesExist(spec: AsrEngineSpec): void {
  for (const role of Object.keys(spec.files)) need(spec, role);
}

/** The model files that are ONNX graphs (checked structurally before sherpa sees them). */
export function onnxFiles(spec: AsrEngineSpec): string[] {
  return Object.entries(spec.files)
    .filter(([role, p]) => role !== 'tokens' && p.endsWith('.onnx'))
    .map(([, p]) => p);
}

/** The file whose first input carries the batch dimension of the expensive network. */
export function encoderFile(spec: AsrEngineSpec): string | undefined {
  return spec.files.encoder ?? spec.files.model;
}

/** `modelConfig` for OnlineRecognizer (kws=false) or KeywordSpotter (kws=true: transducers only, no modelType). */
export function modelConfig(spec: AsrEngineSpec, kws: boolean): Record<string, unknown> {
  const base = { tokens: need(spec, 'tokens'), numThreads: spec.threads, provider: 'cpu', debug: 0 };
  const engine = spec.entry.engine;
  if (engine === 'sherpa-online-transducer') {
    return {
      ...base,
      transducer: { encoder: need(spec, 'encoder'), decoder: need(spec, 'decoder'), joiner: need(spec, 'joiner') },
      // The KWS decoder infers the type from model metadata; setting it there is rejected by some versions.
      modelType: kws ? '' : (spec.entry.modelType ?? ''),
    };
  }
  if (kws) throw new Error(`model ${spec.entry.id}: keyword spotting needs a transducer, not ${engine}`);
  if (engine === 'sherpa-online-paraformer') {
    return { ...base, paraformer: { encoder: need(spec, 'encoder'), decoder: need(spec, 'decoder') } };
  }
  if (engine === 'sherpa-online-zipformer2-ctc') {
    return { ...base, zipformer2Ctc: { model: need(spec, 'model') } };
  }
  throw new Error(`model ${spec.entry.id}: engine "${engine}" is not a streaming sherpa-onnx recogniser`);
}
