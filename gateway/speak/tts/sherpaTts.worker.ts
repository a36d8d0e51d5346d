// Runs sherpa-onnx OfflineTts off the gateway's event loop, in a helper process (SherpaTtsEngine): one model per
// helper, requests answered in order. Start-up data {config} → {type:'ready', sampleRate} | {type:'error'} and exit;
// {type:'synth', id, text, sid, speed} → {type:'audio', id, samples, sampleRate} | {type:'error', id}.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { hostPort } from '../../infer/hostPort.js';

interface Tts {
  sampleRate: number;
  generate(req: { text: string; sid: number; speed: number }): { samples: Float32Array; sampleRate: number };
}

export type TtsRequest = { type: 'synth'; id: number; text: string; sid: number; speed: number };
export type TtsReply =
  | { type: 'ready'; sampleRate: number }
  | { type: 'audio'; id: number; samples: Float32Array; sampleRate: number }
  | { type: 'error'; id?: number; message: string };

const require = createRequire(import.meta.url);
const port = await hostPort<{ config: Record<string, unknown> }, TtsRequest, TtsReply>();

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
try {
  tts = load(port.data.config);
  port.post({ type: 'ready', sampleRate: tts.sampleRate });
} catch (e) {
  port.fail({ type: 'error', message: (e as Error).message }, e as Error);
}

port.onMessage((msg) => {
  try {
    if (!tts) throw new Error('voice not loaded');
    const a = tts.generate({ text: msg.text, sid: msg.sid, speed: msg.speed });
    const samples = Float32Array.from(a.samples);
    port.post({ type: 'audio', id: msg.id, samples, sampleRate: a.sampleRate }, [samples.buffer]);
  } catch (e) {
    port.post({ type: 'error', id: msg.id, message: (e as Error).message });
  }
});
