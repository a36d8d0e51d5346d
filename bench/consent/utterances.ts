// Where the gateway's VAD and end-of-speech rule put the utterances of a clip: Silero through the same backend and
// 32 ms frame grid as a listen worker, then BargeInPolicy with the call's settings (no prompt playing). Offline
// replays cut the recogniser's input exactly where a call would.
import { BargeInPolicy } from '../../gateway/listen/BargeInPolicy.js';
import { SileroOrt, type SileroRate } from '../../gateway/listen/vad/SileroOrt.js';
import { VAD_FRAME_MS } from '../../gateway/listen/vad/VadModel.js';
import { ConfigSchema } from '../../gateway/config.js';
import { isResolved, resolveModel } from '../../gateway/models.js';

export interface VadUtterance {
  /** Inbound ms of the VAD onset (start of the first speech frame). */
  onsetT: number;
  /** Inbound ms at which speech_ended fired (end silence included). */
  endedT: number;
}

export interface EndOfSpeech {
  endSilenceMs: number;
  endThreshold: number;
}

/** rate 8000: Silero's own 8 kHz mode, fed the wire audio (signals at 8 kHz); 16000: 16 kHz audio. */
export async function loadVad(rate: SileroRate = 16000): Promise<SileroOrt> {
  const r = resolveModel('silero-vad-v5');
  if (!isResolved(r)) throw new Error('silero-vad-v5 missing');
  return SileroOrt.load(r.files.model!, 1, 'batched', rate);
}

/** Speech probability of every 32 ms frame of each signal (batched over the signals, like a listen shard). */
export async function frameProbs(vad: SileroOrt, signals: Float32Array[]): Promise<Float32Array[]> {
  const VAD_FRAME = vad.frame;
  const out = signals.map((s) => new Float32Array(Math.floor(s.length / VAD_FRAME)));
  const maxFrames = Math.max(...out.map((o) => o.length));
  signals.forEach((_, i) => vad.open(i));
  for (let f = 0; f < maxFrames; f++) {
    const live = signals.map((s, i) => i).filter((i) => f < out[i]!.length);
    const slots = Int32Array.from(live);
    const frames = new Float32Array(live.length * VAD_FRAME);
    live.forEach((i, r) => frames.set(signals[i]!.subarray(f * VAD_FRAME, (f + 1) * VAD_FRAME), r * VAD_FRAME));
    const p = await vad.score(slots, frames);
    live.forEach((i, r) => (out[i]![f] = p[r]!));
  }
  signals.forEach((_, i) => vad.close(i));
  return out;
}

/** The utterances BargeInPolicy finds in a clip's frame probabilities. */
export function utterances(probs: Float32Array, eos: EndOfSpeech): VadUtterance[] {
  const cfg = ConfigSchema.parse({});
  const policy = new BargeInPolicy({ ...cfg.bargeIn, endSilenceMs: eos.endSilenceMs, endThreshold: eos.endThreshold });
  const out: VadUtterance[] = [];
  let onset: number | null = null;
  for (let f = 0; f < probs.length; f++) {
    const t = Math.round((f + 1) * VAD_FRAME_MS);
    for (const a of policy.frame({ t, durMs: VAD_FRAME_MS, prob: probs[f]!, echo: false }, false)) {
      if (a.type === 'speech_started') onset = a.onsetT;
      else if (a.type === 'speech_ended' && onset !== null) {
        out.push({ onsetT: onset, endedT: a.t });
        onset = null;
      }
    }
  }
  return out;
}
