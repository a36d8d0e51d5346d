// One validated configuration: defaults ← JSON/YAML file (EARSHOT_CONFIG) ← environment. Bad values stop the
// process at start-up with the path of the offending key, never half-way through a call.
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import YAML from 'yaml';
import { z } from 'zod';

const BargeIn = z.object({
  /** Speech probability above which the prompt pauses. */
  pauseThreshold: z.number().min(0).max(1).default(0.3),
  /** Consecutive speech milliseconds needed to pause (0 = first frame over threshold). */
  pauseMinSpeechMs: z.number().int().min(0).max(1000).default(32),
  /** Speech milliseconds (since onset, gaps under `gapMs` bridged) that commit a barge-in. */
  commitMinSpeechMs: z.number().int().min(32).max(3000).default(320),
  /** Silence after which a paused prompt resumes when speech did not last long enough. */
  resumeAfterSilenceMs: z.number().int().min(32).max(3000).default(160),
  /** Probability below which a frame counts as silence (hysteresis). */
  silenceThreshold: z.number().min(0).max(1).default(0.25),
  /** Gaps shorter than this inside speech are bridged. */
  gapMs: z.number().int().min(0).max(1000).default(96),
});

const Echo = z.object({
  enabled: z.boolean().default(true),
  /** Largest round-trip echo delay searched, ms. */
  maxDelayMs: z.number().int().min(20).max(1000).default(400),
  /** Adaptive filter length around the bulk delay, taps at 16 kHz. */
  taps: z.number().int().min(1).max(512).default(16),
  /** Residual must exceed the predicted echo by this many dB to count as callee speech while echo is present. */
  gateMarginDb: z.number().min(0).max(30).default(6),
});

const Vad = z.object({
  backend: z.enum(['silero-ort', 'sherpa-silero', 'sherpa-ten']).default('silero-ort'),
  /** Longest a listen shard waits before its calls' audio and ops go out (a completed VAD frame goes sooner). */
  tickMs: z.number().int().min(1).max(64).default(16),
  threads: z.number().int().min(1).max(8).default(1),
  /**
   * silero-ort only. `batched`: the model rewritten so a batch of calls is one matrix product per layer (about a
   * third of the CPU per frame; checked against the original at load, which is kept if they disagree).
   * `original`: the model file as it is.
   */
  graph: z.enum(['batched', 'original']).default('batched'),
  /**
   * Listen workers (echo cancellation + VAD), calls spread over them. Unset: one per core.
   */
  shards: z.number().int().min(1).max(32).optional(),
});

const Asr = z.object({
  /** Model id from models/manifest.json; empty = no recogniser (consent disabled). */
  model: z.string().default('zipformer-wenetspeech-kws-3.3m'),
  mode: z.enum(['recognizer', 'kws']).default('recognizer'),
  /** Audio kept before the VAD onset so the first syllable is never clipped. */
  preRollMs: z.number().int().min(0).max(2000).default(400),
  /**
   * Recogniser worker threads, streams spread over them. Unset: one per core. The Mandarin model decodes one
   * stream at a time, so one worker saturated a core at ~50 calls in consent windows (bench: consent p95 1046 ms at
   * 125 calls with one worker, 405 ms with two on this 2-core machine).
   */
  workers: z.number().int().min(1).max(8).optional(),
  threads: z.number().int().min(1).max(8).default(1),
  /**
   * Recogniser search. `hotwords`: modified beam search biased toward every phrase of the consent lexicon (consent,
   * refusal, negation, questions …) by `hotwordBoost` per token; `greedy`: no search, no biasing; `beam`: beam search
   * without biasing. Measured on held-out speakers in the README's consent section.
   */
  search: z.enum(['greedy', 'beam', 'hotwords']).default('hotwords'),
  hotwordBoost: z.number().min(0).max(10).default(1.5),
  beamPaths: z.number().int().min(1).max(16).default(4),
});

const Consent = z.object({
  /** How long after expect_consent to wait for an answer before deciding `unclear`. */
  windowMs: z.number().int().min(500).max(60000).default(8000),
  /** Trailing silence (ms of inbound audio) that ends an answer utterance. */
  endSilenceMs: z.number().int().min(0).max(2000).default(240),
  /** Speech probability below which a frame counts towards that trailing silence. */
  endThreshold: z.number().min(0).max(1).default(0.4),
  lexiconFile: z.string().optional(),
  /**
   * A `granted` whose consent phrase covers less of the heard answer than this confidence is reported `unclear`:
   * a lone 是 inside a longer, misheard answer (你是谁 → "shì éi") must never count as a yes.
   */
  minGrantConfidence: z.number().min(0).max(1).default(0.8),
  /**
   * A `granted` is reported `unclear` when more speech than this precedes the first recognised token: words the
   * recogniser lost may be a negation or a question. Measured: true answers start ≤ 320 ms after the VAD onset.
   */
  maxUnheardLeadMs: z.number().int().min(0).max(5000).default(400),
  /** The same inside the answer: a `granted` with a longer stretch between two recognised syllables is `unclear`. */
  maxUnheardGapMs: z.number().int().min(0).max(5000).default(400),
  /**
   * A second hearing of each answer, the recogniser's n-best. `rehear`: when the first hearing placed no lexicon
   * phrase, the same audio is decoded once more, cut `shiftMs` later (negative: earlier) — a chunked streaming model
   * hears one answer differently at another cut — and a yes only that hearing heard is weighed under every safety
   * rule; costs CPU only for those answers. `shifted`: that second decode always, beside the first (twice the CPU;
   * its question or refusal also stops a grant). `spotter`: the keyword spotter beside the recogniser (a refusal it
   * hears wins; it never grants alone). `none`.
   */
  secondOpinion: z.enum(['none', 'rehear', 'shifted', 'spotter']).default('rehear'),
  shiftMs: z.number().int().min(-1000).max(1000).default(-160),
  /** Calibration of the `confidence` field (default: the bundled calibration.<language>.json). */
  calibrationFile: z.string().optional(),
});

const Playout = z.object({
  frameMs: z.literal(20).default(20),
  /** How far ahead of the playout clock prompt audio may be sent. */
  lookaheadMs: z.number().int().min(0).max(1000).default(40),
  /**
   * Prompt frames handed to the socket in one write. Each stays its own 20 ms message; grouping them halves the
   * write syscalls and the loopback/TCP work behind each one, the largest single cost of the event loop at 250
   * calls. The price: the group's later frames leave up to (framesPerWrite − 1) × 20 ms earlier, so that much more
   * audio can already be at the far end when a pause or barge-in stops sending. 1 = a write per frame.
   */
  framesPerWrite: z.number().int().min(1).max(5).default(2),
  /** Cap on audio bytes queued in one socket before the call is failed as a slow reader. */
  maxSocketBufferBytes: z.number().int().min(4096).default(512 * 1024),
});

const Limits = z.object({
  maxMessageBytes: z.number().int().min(1024).default(8 * 1024 * 1024),
  maxInboundFrameMs: z.number().int().min(20).default(1000),
  maxPromptMs: z.number().int().min(1000).default(60000),
  maxQueuedPrompts: z.number().int().min(1).default(16),
  idleTimeoutMs: z.number().int().min(1000).default(30000),
  startTimeoutMs: z.number().int().min(500).default(10000),
  maxCalls: z.number().int().min(1).default(2000),
});

export const ConfigSchema = z.object({
  host: z.string().default('0.0.0.0'),
  port: z.number().int().min(0).max(65535).default(8080),
  apiToken: z.string().optional(),
  modelsDir: z.string().optional(),
  dataDir: z.string().default('.earshot'),
  shutdownGraceMs: z.number().int().min(0).default(10000),
  vad: Vad.default(Vad.parse({})),
  bargeIn: BargeIn.default(BargeIn.parse({})),
  echo: Echo.default(Echo.parse({})),
  asr: Asr.default(Asr.parse({})),
  consent: Consent.default(Consent.parse({})),
  playout: Playout.default(Playout.parse({})),
  limits: Limits.default(Limits.parse({})),
  /** Sections owned by later features (tts, scripts, policy, evidence, wires): validated by their modules. */
  tts: z.record(z.string(), z.unknown()).default({}),
  scripts: z.record(z.string(), z.unknown()).default({}),
  policy: z.record(z.string(), z.unknown()).default({}),
  evidence: z.record(z.string(), z.unknown()).default({}),
  wires: z.record(z.string(), z.unknown()).default({}),
});

export type Config = z.infer<typeof ConfigSchema>;
export type BargeInConfig = z.infer<typeof BargeIn>;
export type EchoConfig = z.infer<typeof Echo>;

export class ConfigError extends Error {}

const ENV: Record<string, { path: string[]; type: 'int' | 'string' | 'float' | 'bool'; emptyAllowed?: boolean }> = {
  EARSHOT_PORT: { path: ['port'], type: 'int' },
  EARSHOT_HOST: { path: ['host'], type: 'string' },
  EARSHOT_API_TOKEN: { path: ['apiToken'], type: 'string' },
  EARSHOT_MODELS_DIR: { path: ['modelsDir'], type: 'string' },
  EARSHOT_DATA_DIR: { path: ['dataDir'], type: 'string' },
  EARSHOT_VAD_BACKEND: { path: ['vad', 'backend'], type: 'string' },
  EARSHOT_VAD_SHARDS: { path: ['vad', 'shards'], type: 'int' },
  EARSHOT_VAD_GRAPH: { path: ['vad', 'graph'], type: 'string' },
  EARSHOT_ASR_MODEL: { path: ['asr', 'model'], type: 'string', emptyAllowed: true },
  EARSHOT_ASR_MODE: { path: ['asr', 'mode'], type: 'string' },
  EARSHOT_ASR_WORKERS: { path: ['asr', 'workers'], type: 'int' },
  EARSHOT_CONSENT_WINDOW_MS: { path: ['consent', 'windowMs'], type: 'int' },
  EARSHOT_LOOKAHEAD_MS: { path: ['playout', 'lookaheadMs'], type: 'int' },
  EARSHOT_FRAMES_PER_WRITE: { path: ['playout', 'framesPerWrite'], type: 'int' },
  EARSHOT_MAX_CALLS: { path: ['limits', 'maxCalls'], type: 'int' },
  EARSHOT_SHUTDOWN_GRACE_MS: { path: ['shutdownGraceMs'], type: 'int' },
};

function setPath(obj: Record<string, unknown>, path: string[], value: unknown): void {
  let o = obj;
  for (const k of path.slice(0, -1)) {
    if (typeof o[k] !== 'object' || o[k] === null) o[k] = {};
    o = o[k] as Record<string, unknown>;
  }
  o[path[path.length - 1]] = value;
}

function parseEnvValue(name: string, raw: string, type: string): unknown {
  if (type === 'string') return raw;
  if (type === 'bool') {
    if (/^(1|true|yes|on)$/i.test(raw)) return true;
    if (/^(0|false|no|off)$/i.test(raw)) return false;
    throw new ConfigError(`${name}=${JSON.stringify(raw)} is not a boolean (use true/false)`);
  }
  const n = type === 'int' ? Number.parseInt(raw, 10) : Number.parseFloat(raw);
  if (!Number.isFinite(n) || (type === 'int' && String(n) !== raw.trim())) {
    throw new ConfigError(`${name}=${JSON.stringify(raw)} is not ${type === 'int' ? 'an integer' : 'a number'}`);
  }
  return n;
}

/** Builds the configuration; `overrides` (tests, bench) win over file and environment. */
export function loadConfig(
  env: NodeJS.ProcessEnv = process.env,
  overrides: Record<string, unknown> = {},
): Config {
  let raw: Record<string, unknown> = {};
  const file = env.EARSHOT_CONFIG;
  if (file) {
    const p = resolve(file);
    if (!existsSync(p)) throw new ConfigError(`EARSHOT_CONFIG points at ${p}, which does not exist`);
    try {
      raw = (YAML.parse(readFileSync(p, 'utf8')) ?? {}) as Record<string, unknown>;
    } catch (e) {
      throw new ConfigError(`cannot parse ${p}: ${(e as Error).message}`);
    }
  }
  for (const [name, spec] of Object.entries(ENV)) {
    const v = env[name];
    // Empty means unset, except where empty is a meaningful value (EARSHOT_ASR_MODEL= disables recognition).
    if (v !== undefined && (v !== '' || spec.emptyAllowed)) setPath(raw, spec.path, parseEnvValue(name, v, spec.type));
  }
  raw = deepMerge(raw, overrides);
  const r = ConfigSchema.safeParse(raw);
  if (!r.success) {
    const lines = r.error.issues.map((i) => `  ${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  return r.data;
}

export function deepMerge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const cur = out[k];
    if (v && typeof v === 'object' && !Array.isArray(v) && cur && typeof cur === 'object' && !Array.isArray(cur)) {
      out[k] = deepMerge(cur as Record<string, unknown>, v as Record<string, unknown>);
    } else out[k] = v;
  }
  return out;
}
