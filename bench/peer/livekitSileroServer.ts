// Peer under test: LiveKit agents-js Silero VAD, used the way a LiveKit agent uses it — `silero.VAD.load()`
// once per process, one `vad.stream()` per call, `pushFrame(AudioFrame)` per 20 ms, START_OF_SPEECH read from
// the stream. Plugin defaults: activation 0.5, min speech 50 ms, min silence 550 ms.
// Run: PEER_PORT=8098 node --import tsx bench/peer/livekitSileroServer.ts
import { initializeLogger, VADEventType } from '@livekit/agents';
import * as silero from '@livekit/agents-plugin-silero';
import { AudioFrame } from '@livekit/rtc-node';
import { servePeer, type PeerVad } from './peerServer.js';

initializeLogger({ pretty: false, level: 'warn' });

servePeer(async (): Promise<PeerVad> => {
  const vad = await silero.VAD.load();
  return {
    open(rate, emit) {
      const stream = vad.stream();
      void (async () => {
        for await (const ev of stream) {
          // `timestamp` is the VAD's own audio clock (ms of audio it has processed).
          if (ev.type === VADEventType.START_OF_SPEECH) emit({ type: 'speech_started', t: ev.timestamp });
          else if (ev.type === VADEventType.END_OF_SPEECH) emit({ type: 'speech_ended', t: ev.timestamp });
        }
      })().catch(() => undefined);
      return {
        push: (pcm) => stream.pushFrame(new AudioFrame(pcm, rate, 1, pcm.length)),
        // close() alone: endInput() closes a writable the plugin keeps locked and rejects asynchronously.
        close: () => stream.close(),
      };
    },
  };
});
