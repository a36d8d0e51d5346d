// Runs sherpa-onnx OfflineTts off the gateway's event loop, in a helper process (SherpaTtsEngine, through OffProcess):
// one model per helper, loaded by the first request (every request carries the voice's config, so a helper started
// again after a death loads it again), then requests answered in order.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { serveOffProcess } from '../../infer/OffProcess.js';

interface Tts {
  sampleRate: number;
  generate(req: { text: string; sid: number; speed: number }): { samples: Float32Array; sampleRate: number };
}

/** `text` null: load the model only (its reply's samples are empty). */
export type TtsRequest = { config: Record<string, unknown>; text: string | null; sid: number; speed: number };
export type TtsAudio = { samples: Float32Array; sampleRate: number };

const require = createRequire(import.meta.url);

function load(config: Record<string, unknown>): Tts {
  // Files first: a missing path inside the native addon can abort the process instead of throwing (a damaged file
  // still can: then this helper ends, not the gateway).
  const model = (config.model ?? {}) as Record<string, Record<string, unknown>>;
  for (const sub of Object.values(model)) {
    for (const [k, v] of Object.entries(sub)) {
      if (typeof v === 'string' && v !== '' && k !== 'lang' && !existsSync(v)) throw new Error(`${k} file ${v} does not exist`);
    }
  }
  const sherpa = require('sherpa-onnx-node') as { OfflineTts: new (c: unknown) => Tts };
  return new sherpa.OfflineTts(config);
}

let tts: Tts | null = null;

await serveOffProcess<TtsRequest, TtsAudio>(async (req) => {
  tts ??= load(req.config);
  if (req.text === null) return { samples: new Float32Array(0), sampleRate: tts.sampleRate };
  const a = tts.generate({ text: req.text, sid: req.sid, speed: req.speed });
  return { samples: Float32Array.from(a.samples), sampleRate: a.sampleRate };
});
