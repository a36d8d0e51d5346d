import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { modelEntry, type ResolvedModel } from '../gateway/models.js';
import { buildSherpaTtsConfig } from '../gateway/speak/tts/sherpaTtsConfig.js';
import { resolveTtsModel, SherpaTtsEngine } from '../gateway/speak/tts/SherpaTtsEngine.js';
import { TtsModelMissingError } from '../gateway/speak/tts/errors.js';

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
  it('a voice whose model is damaged fails its prompt with an error, and this process carries on', async () => {
    // Garbage where the model should be: sherpa-onnx's native code may throw or abort on it. In the helper process
    // either way it is an error of this voice, not the end of the process (README: Models).
    const root = mkdtempSync(join(tmpdir(), 'tts-models-'));
    mkdirSync(join(root, 'vits-icefall-zh-aishell3'));
    for (const f of ['model.onnx', 'lexicon.txt', 'tokens.txt']) writeFileSync(join(root, 'vits-icefall-zh-aishell3', f), 'this is not a model\n');
    const engine = new SherpaTtsEngine('vits-zh-aishell3', { modelsDir: root });
    try {
      await expect(engine.whenReady()).rejects.toThrow(/TTS model "vits-zh-aishell3" failed to load/);
      const first = engine.synthesize('你好。', { language: 'zh', sampleRate: 8000 })[Symbol.asyncIterator]().next();
      await expect(first).rejects.toThrow(/failed to load/);
    } finally {
      await engine.close();
    }
  });
  it('the helper reports a model file that went missing after start-up as a load error', async () => {
    const root = mkdtempSync(join(tmpdir(), 'tts-models-'));
    const dir = join(root, 'vits-icefall-zh-aishell3');
    mkdirSync(dir);
    for (const f of ['model.onnx', 'lexicon.txt', 'tokens.txt']) writeFileSync(join(dir, f), '');
    // Resolved (the files are there), then gone before the helper opens them.
    const engine = new SherpaTtsEngine('vits-zh-aishell3', { modelsDir: root });
    rmSync(join(dir, 'model.onnx'));
    try {
      // The helper checks its files before sherpa-onnx opens them (it starts long after the removal: a node runtime).
      await expect(engine.whenReady()).rejects.toThrow(/failed to load: model file .*model\.onnx does not exist/);
    } finally {
      await engine.close();
    }
  });
});
