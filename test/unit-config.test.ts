// gateway/config.ts: defaults ← YAML/JSON file (EARSHOT_CONFIG) ← environment, with clear errors.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, deepMerge, loadConfig } from '../gateway/config.js';

const dir = mkdtempSync(join(tmpdir(), 'earshot-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};
function err(env: NodeJS.ProcessEnv, overrides: Record<string, unknown> = {}): ConfigError {
  try {
    loadConfig(env, overrides);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error('loadConfig did not throw');
}

describe('defaults', () => {
  it('an empty environment gives the documented defaults', () => {
    const c = loadConfig({});
    expect(c.host).toBe('0.0.0.0');
    expect(c.port).toBe(8080);
    expect(c.apiToken).toBeUndefined();
    expect(c.modelsDir).toBeUndefined();
    expect(c.dataDir).toBe('.earshot');
    expect(c.vad.backend).toBe('silero-ort');
    expect(c.vad.graph).toBe('batched');
    expect(c.asr.model).toBe('zipformer-wenetspeech-kws-3.3m');
    expect(c.asr.mode).toBe('recognizer');
    expect(c.bargeIn).toMatchObject({ pauseThreshold: 0.3, pauseMinSpeechMs: 32, commitMinSpeechMs: 320, resumeAfterSilenceMs: 160, silenceThreshold: 0.25, gapMs: 96 });
    expect(c.bargeIn.content).toMatchObject({ enabled: true, backchannelMaxMs: 2000, unsureMaxMs: 320 });
    expect(c.bargeIn.interruption).toMatchObject({ enabled: 'withContent', mode: 'pausedVeto', silenceThreshold: 0.7, commitMinSpeechMs: 256 });
    expect(c.playout).toEqual({ frameMs: 20, lookaheadMs: 40, framesPerWrite: 2, maxSocketBufferBytes: 512 * 1024 });
    // maxCalls from the machine (64 per core: the bench's full-pipeline capacity on 2 cores), not a fixed 2000.
    expect(c.limits.maxCalls).toBe(64 * availableParallelism());
    expect(c.limits).toMatchObject({ maxMessageBytes: 3 * 1024 * 1024, maxInboundRatio: 1.5, inboundBurstMs: 3000, maxCallMs: 3_600_000, requestTimeoutMs: 30_000, headersTimeoutMs: 10_000 });
    expect(c.ops).toEqual({ logBufferBytes: 4 * 1024 * 1024, maxUncaughtPerMinute: 5, duplicateSignalMs: 1000, heapGrowingPercent: 0, workerOldSpaceMb: 48, warmUpCalls: 16 });
    expect(c.tts).toEqual({ engines: [{ type: 'syllable', id: 'syllable', syllablesPerSecond: 3 }, { type: 'espeak', id: 'espeak', speed: 150 }], defaults: { zh: 'syllable', en: 'espeak' }, cacheMemoryMB: 64 });
    expect(c.wires).toMatchObject({ audiosocketPort: 9092, audiosocketHost: '127.0.0.1', grpcPort: 50051 });
    expect(c.scripts.rawAudioCallTypes).toEqual(['notification']);
    expect(c.policy.defaultCountry).toBe('CN');
  });
  it('loadConfig does not share default objects between calls', () => {
    const a = loadConfig({});
    a.bargeIn.pauseThreshold = 0.9;
    expect(loadConfig({}).bargeIn.pauseThreshold).toBe(0.3);
  });
});

describe('environment', () => {
  it('EARSHOT_PORT, EARSHOT_MODELS_DIR and friends override', () => {
    const c = loadConfig({
      EARSHOT_PORT: '9000',
      EARSHOT_MODELS_DIR: '/models',
      EARSHOT_HOST: '127.0.0.1',
      EARSHOT_API_TOKEN: 'tok',
      EARSHOT_VAD_BACKEND: 'sherpa-ten',
      EARSHOT_VAD_GRAPH: 'original',
      EARSHOT_ASR_MODE: 'kws',
      EARSHOT_ASR_WORKERS: '3',
      EARSHOT_LOOKAHEAD_MS: '60',
      EARSHOT_FRAMES_PER_WRITE: '1',
      EARSHOT_MAX_CALLS: '10',
    });
    expect(c.port).toBe(9000);
    expect(c.modelsDir).toBe('/models');
    expect(c.host).toBe('127.0.0.1');
    expect(c.apiToken).toBe('tok');
    expect(c.vad.backend).toBe('sherpa-ten');
    expect(c.vad.graph).toBe('original');
    expect(c.asr.mode).toBe('kws');
    expect(c.asr.workers).toBe(3);
    expect(c.playout.lookaheadMs).toBe(60);
    expect(c.playout.framesPerWrite).toBe(1);
    expect(c.limits.maxCalls).toBe(10);
    expect(c.asr.model).toBe('zipformer-wenetspeech-kws-3.3m');
  });
  it('an empty variable is ignored', () => {
    expect(loadConfig({ EARSHOT_PORT: '' }).port).toBe(8080);
  });
  it('EARSHOT_ASR_MODEL="" disables recognition; other empty variables mean unset', () => {
    expect(loadConfig({ EARSHOT_ASR_MODEL: '' }).asr.model).toBe('');
    expect(loadConfig({ EARSHOT_PORT: '' }).port).toBe(8080);
    expect(loadConfig({ EARSHOT_HOST: '' }).host).toBe('0.0.0.0');
  });
  it('a non-integer names the variable', () => {
    for (const v of ['abc', '80.5', '8080x', '1e3']) {
      const e = err({ EARSHOT_PORT: v });
      expect(e.message).toContain('EARSHOT_PORT');
      expect(e.message).toContain(JSON.stringify(v));
      expect(e.message).toMatch(/not an integer/);
    }
  });
  it('an out-of-range value names the config key', () => {
    const e = err({ EARSHOT_PORT: '70000' });
    expect(e.message).toMatch(/invalid configuration/);
    expect(e.message).toMatch(/^\s+port: /m);
  });
  it('a bad enum names the nested key', () => {
    expect(err({ EARSHOT_VAD_BACKEND: 'webrtc' }).message).toMatch(/vad\.backend/);
    expect(err({ EARSHOT_ASR_MODE: 'both' }).message).toMatch(/asr\.mode/);
    expect(err({ EARSHOT_VAD_GRAPH: 'fused' }).message).toMatch(/vad\.graph/);
    expect(err({ EARSHOT_ASR_WORKERS: '0' }).message).toMatch(/asr\.workers/);
  });
  it('overrides win over the environment and are deep-merged', () => {
    const c = loadConfig({ EARSHOT_PORT: '9000', EARSHOT_LOOKAHEAD_MS: '60' }, { port: 1234, playout: { maxSocketBufferBytes: 8192 } });
    expect(c.port).toBe(1234);
    expect(c.playout.lookaheadMs).toBe(60);
    expect(c.playout.maxSocketBufferBytes).toBe(8192);
  });
});

describe('EARSHOT_CONFIG file', () => {
  it('reads YAML; the environment wins over the file', () => {
    const p = file(
      'a.yaml',
      `port: 7000
modelsDir: /srv/models
bargeIn:
  pauseThreshold: 0.5
  commitMinSpeechMs: 400
asr:
  model: zipformer-en-2023-06-26
tts:
  cacheMemoryMB: 32
`,
    );
    const c = loadConfig({ EARSHOT_CONFIG: p });
    expect(c.port).toBe(7000);
    expect(c.modelsDir).toBe('/srv/models');
    expect(c.bargeIn.pauseThreshold).toBe(0.5);
    expect(c.bargeIn.commitMinSpeechMs).toBe(400);
    expect(c.bargeIn.gapMs).toBe(96);
    expect(c.asr.model).toBe('zipformer-en-2023-06-26');
    expect(c.tts.cacheMemoryMB).toBe(32);
    const c2 = loadConfig({ EARSHOT_CONFIG: p, EARSHOT_PORT: '7001', EARSHOT_MODELS_DIR: '/env/models' });
    expect(c2.port).toBe(7001);
    expect(c2.modelsDir).toBe('/env/models');
    expect(c2.bargeIn.pauseThreshold).toBe(0.5);
  });
  it('reads JSON too (YAML is a superset)', () => {
    expect(loadConfig({ EARSHOT_CONFIG: file('b.json', '{"port": 6000, "echo": {"enabled": false}}') })).toMatchObject({ port: 6000, echo: { enabled: false, taps: 1024 } });
  });
  it('an empty file gives the defaults', () => {
    expect(loadConfig({ EARSHOT_CONFIG: file('empty.yaml', '') }).port).toBe(8080);
  });
  it('a missing file is a clear error', () => {
    expect(err({ EARSHOT_CONFIG: join(dir, 'nope.yaml') }).message).toMatch(/EARSHOT_CONFIG points at .*nope\.yaml, which does not exist/);
  });
  it('unparseable YAML is a clear error naming the file', () => {
    expect(err({ EARSHOT_CONFIG: file('bad.yaml', 'port: [1, 2\nhost: x') }).message).toMatch(/cannot parse .*bad\.yaml/);
  });
  it('invalid values in the file name their key path', () => {
    const e = err({ EARSHOT_CONFIG: file('c.yaml', 'bargeIn:\n  commitMinSpeechMs: 10\n  pauseThreshold: 2\nport: "80"\n') });
    expect(e.message).toMatch(/bargeIn\.commitMinSpeechMs/);
    expect(e.message).toMatch(/bargeIn\.pauseThreshold/);
    expect(e.message).toMatch(/^\s+port: /m);
  });
  it('playout.frameMs must be 20', () => {
    expect(err({}, { playout: { frameMs: 10 } }).message).toMatch(/playout\.frameMs/);
  });
});

describe('every section is validated when the configuration loads', () => {
  it('a bad value in a feature section (tts, scripts, policy, evidence, wires) stops the load naming its key', () => {
    const bad: [string, string][] = [
      ['tts:\n  cacheMemoryMB: 0\n', 'tts.cacheMemoryMB'],
      ['tts:\n  engines: [{ type: festival }]\n', 'tts.engines.0.type'],
      ['scripts:\n  freeTextCallTypes: [sales]\n', 'scripts.freeTextCallTypes.0'],
      ['policy:\n  hours:\n    marketing: { start: 9am, end: "20:00" }\n', 'policy.hours.marketing.start'],
      ['policy:\n  clock: tomorrow\n', 'policy.clock'],
      ['evidence:\n  audioDir: ../elsewhere\n', 'evidence.audioDir'],
      ['wires:\n  grpcPort: 70000\n', 'wires.grpcPort'],
    ];
    for (const [text, key] of bad) {
      const m = err({ EARSHOT_CONFIG: file('section.yaml', text) }).message;
      expect(m, text).toContain(`  ${key}: `);
    }
  });
  it('an unknown key is refused, in any section, rather than silently ignored', () => {
    expect(err({ EARSHOT_CONFIG: file('u1.yaml', 'tts:\n  voice: pinyin-syllables-female\n') }).message).toMatch(/^\s+tts: Unrecognized key: "voice"/m);
    expect(err({ EARSHOT_CONFIG: file('u2.yaml', 'wires:\n  twilioPublicURL: wss://x/v1/twilio\n') }).message).toMatch(/wires: Unrecognized key: "twilioPublicURL"/);
    expect(err({ EARSHOT_CONFIG: file('u3.yaml', 'bargein:\n  pauseThreshold: 0.5\n') }).message).toMatch(/Unrecognized key: "bargein"/);
  });
});

describe('wire settings from the environment', () => {
  it('EARSHOT_GRPC_PORT, EARSHOT_AUDIOSOCKET_PORT/HOST and EARSHOT_TWILIO_AUTH_TOKEN win over the file', () => {
    const p = file('w.yaml', 'wires:\n  grpcPort: 6000\n  audiosocketPort: 6001\n  audiosocketHost: 10.0.0.1\n  twilioAuthToken: from-file\n');
    expect(loadConfig({ EARSHOT_CONFIG: p }).wires).toMatchObject({ grpcPort: 6000, audiosocketPort: 6001, audiosocketHost: '10.0.0.1', twilioAuthToken: 'from-file' });
    const env = { EARSHOT_CONFIG: p, EARSHOT_GRPC_PORT: '7000', EARSHOT_AUDIOSOCKET_PORT: '7001', EARSHOT_AUDIOSOCKET_HOST: '10.0.0.2', EARSHOT_TWILIO_AUTH_TOKEN: 'from-env' };
    expect(loadConfig(env).wires).toMatchObject({ grpcPort: 7000, audiosocketPort: 7001, audiosocketHost: '10.0.0.2', twilioAuthToken: 'from-env' });
    expect(err({ EARSHOT_GRPC_PORT: 'fifty' }).message).toMatch(/EARSHOT_GRPC_PORT="fifty" is not an integer/);
  });
  it('a gateway on HTTP port 0 gets ephemeral wire ports unless they are set', () => {
    expect(loadConfig({}, { port: 0 }).wires).toMatchObject({ grpcPort: 0, audiosocketPort: 0 });
    expect(loadConfig({ EARSHOT_GRPC_PORT: '7000' }, { port: 0 }).wires).toMatchObject({ grpcPort: 7000, audiosocketPort: 0 });
    const overrides = { port: 0, wires: { audiosocket: false } };
    expect(loadConfig({}, overrides).wires).toMatchObject({ audiosocket: false, grpcPort: 0 });
    expect(overrides.wires).toEqual({ audiosocket: false });
  });
});

describe('deepMerge', () => {
  it('merges objects, replaces arrays and scalars, does not mutate inputs', () => {
    const a = { x: { y: 1, z: [1, 2] }, k: 1 };
    const b = { x: { z: [3] }, k: { n: 1 } };
    expect(deepMerge(a, b)).toEqual({ x: { y: 1, z: [3] }, k: { n: 1 } });
    expect(a).toEqual({ x: { y: 1, z: [1, 2] }, k: 1 });
  });
});
