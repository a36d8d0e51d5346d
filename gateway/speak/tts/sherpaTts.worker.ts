// Runs sherpa-onnx OfflineTts off the gateway's event loop: one model per worker, requests answered in order.
// Messages: {type:'init', config} → {type:'ready', sampleRate} | {type:'error'}; {type:'synth', id, text, sid, speed}
// → {type:'audio', id, samples (transferred Float32Array), sampleRate} | {type:'error', id}.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { parentPort } from 'node:worker_threads';

interface Tts {
  sampleRate: number;
  generate(req: { text: string; sid: number; speed: number }): { samples: Float32Array; sampleRate: number };
}

const require = createRequire(import.meta.url);
let tts: Tts | null = null;
const port = parentPort!;

port.on('message', (msg: { type: string; id?: number; config?: Record<string, unknown>; text?: string; sid?: number; speed?: number }) => {
  try {
    if (msg.type === 'init') {
      // Check files first: a bad path inside the native addon can abort the whole process instead of throwing.
      const model = (msg.config!.model ?? {}) as Record<string, Record<string, unknown>>;
      for (const sub of Object.values(model)) {
        for (const [k, v] of Object.entries(sub)) {
          if (typeof v === 'string' && v !== '' && k !== 'lang' && !existsSync(v)) throw new Error(`${k} file ${v} does not exist`);
        }
      }
      const sherpa = require('sherpa-onnx-node') as { OfflineTts: new (c: unknown) => Tts };
      tts = new sherpa.OfflineTts(msg.config);
      port.postMessage({ type: 'ready', sampleRate: tts.sampleRate });
    } else if (msg.type === 'synth') {
      if (!tts) throw new Error('worker not initialised');
      const a = tts.generate({ text: msg.text!, sid: msg.sid ?? 0, speed: msg.speed ?? 1 });
      const samples = Float32Array.from(a.samples);
      port.postMessage({ type: 'audio', id: msg.id, samples, sampleRate: a.sampleRate }, [samples.buffer]);
    }
  } catch (e) {
    port.postMessage({ type: 'error', id: msg.id, message: (e as Error).message });
  }
});
