import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { modelEntry, type ResolvedModel } from '../gateway/models.js';
import { buildSherpaTtsConfig } from '../gateway/speak/tts/sherpaTtsConfig.js';
import { resolveTtsModel, SherpaTtsEngine } from '../gateway/speak/tts/SherpaTtsEngine.js';
import { TtsModelMissingError } from '../gateway/speak/tts/errors.js';
import { startTsWorker } from '../gateway/speak/tts/tsWorker.js';

function fake(id: string): ResolvedModel {
  const entry = modelEntry(id);
  const files = Object.fromEntries(Object.entries(entry.files).map(([k, f]) => [k, `/m/${entry.dir}/${f}`]));
  return { entry, dir: `/m/${entry.dir}`, files, source: '/m' };
}

describe('sherpa-onnx TTS', () => {
  it('builds the vits config from the manifest', () => {
    const c = buildSherpaTtsConfig(fake('vits-zh-aishell3'), { lengthScale: 0.9 });
    expect(c.model.vits).toMatchObject({ model: '/m/vits-icefall-zh-aishell3/model.onnx', lexicon: '/m/vits-icefall-zh-aishell3/lexicon.txt', tokens: '/m/vits-icefall-zh-aishell3/tokens.txt', lengthScale: 0.9 });
    expect(c.numThreads).toBe(1);
  });
  it('builds matcha, kokoro and kitten configs', () => {
    expect(buildSherpaTtsConfig(fake('matcha-zh-baker')).model.matcha).toMatchObject({ acousticModel: '/m/matcha-icefall-zh-baker/model-steps-3.onnx', vocoder: '/m/matcha-icefall-zh-baker/vocos-22khz-univ.onnx' });
    expect(buildSherpaTtsConfig(fake('kokoro-multi-lang-v1_0'), { lang: 'zh' }).model.kokoro).toMatchObject({ voices: '/m/kokoro-multi-lang-v1_0/voices.bin', dataDir: '/m/kokoro-multi-lang-v1_0/espeak-ng-data', lang: 'zh' });
    expect(buildSherpaTtsConfig(fake('kitten-nano-en-v0_1')).model.kitten).toMatchObject({ model: '/m/kitten-nano-en-v0_1-fp16/model.fp16.onnx' });
    expect(() => buildSherpaTtsConfig(fake('silero-vad-v5'))).toThrow(/ttsType/);
  });
  it('names the model, the folders searched and the fetch command when a voice is missing', () => {
    const empty = mkdtempSync(join(tmpdir(), 'tts-models-'));
    let err: unknown;
    try {
      new SherpaTtsEngine('vits-zh-aishell3', { modelsDir: empty });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TtsModelMissingError);
    const m = (err as Error).message;
    expect(m).toContain('vits-zh-aishell3');
    expect(m).toContain(join(empty, 'vits-icefall-zh-aishell3'));
    expect(m).toContain('npm run models -- vits-zh-aishell3');
  });
  it('resolves a voice that is present', () => {
    const root = mkdtempSync(join(tmpdir(), 'tts-models-'));
    mkdirSync(join(root, 'vits-icefall-zh-aishell3'));
    for (const f of ['model.onnx', 'lexicon.txt', 'tokens.txt']) writeFileSync(join(root, 'vits-icefall-zh-aishell3', f), '');
    expect(resolveTtsModel('vits-zh-aishell3', root).dir).toBe(join(root, 'vits-icefall-zh-aishell3'));
  });
  it('runs the worker under vitest (tsx loader) and reports a bad model path as an error, not a crash', async () => {
    const w = startTsWorker(new URL('../gateway/speak/tts/sherpaTts.worker.ts', import.meta.url));
    const msg = await new Promise<{ type: string; message: string }>((res, rej) => {
      w.once('message', res);
      w.once('error', rej);
      w.postMessage({ type: 'init', config: { model: { vits: { model: '/nonexistent/model.onnx', tokens: '/nonexistent/tokens.txt' } } } });
    });
    await w.terminate();
    expect(msg.type).toBe('error');
    expect(msg.message).toMatch(/does not exist/);
  });
});
