// The bench's peer systems (bench/peer/*), each its real VAD package on real corpus audio behind the bench's
// protocol: start → ready, caller audio, speech_started near the labelled onset with the peer's own `t`, hangup →
// call_summary. The capacity comparison itself is the bench's job (bench/README.md).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PEERS } from '../bench/options.js';
import { startServer, type ServerProcess } from '../bench/serverProcess.js';
import { TestCall } from './helpers/client.js';
import { labels, wireAudio } from './helpers/corpus.js';

const ROOT = join(import.meta.dirname, '..');
const servers: ServerProcess[] = [];
afterAll(async () => {
  for (const s of servers) await s.stop();
});

/** Streams one caller file 4× faster than real time through the native-protocol test client; the peer's events. */
async function run(url: string, file: string, rate: 16000 | 8000): Promise<{ type: string; t?: number }[]> {
  const audio = wireAudio(file);
  const encoding = rate === 16000 ? 'pcm16' : 'mulaw';
  const c = new TestCall(url, {}, { contract: false }); // a peer speaks a subset of the protocol
  await c.start({ callId: 'peer-test', encoding, sampleRate: rate });
  await c.stream(audio.samples, encoding, rate, 4);
  // The peer decides as it gets to the audio: give it time before hanging up.
  await c.waitFor('speech_started', 5000).catch(() => undefined);
  await c.hangup();
  c.close();
  return c.rx.events;
}

describe.each(Object.keys(PEERS))('peer %s', (name) => {
  it('answers start with ready and reports speech_started near the labelled onset, at 16 and 8 kHz', async () => {
    const ps = await startServer({ name, entry: PEERS[name], env: {}, portEnv: 'PEER_PORT', logFile: join(mkdtempSync(join(tmpdir(), 'peer-')), 'peer.log'), cwd: ROOT });
    servers.push(ps);
    const l = labels().find((x) => x.file === 'bargein/s02_caller.wav')!; // a real recording, no echo
    for (const [rate, file] of [[16000, l.file], [8000, l.twin8k]] as const) {
      const events = await run(`${ps.wsUrl}/v1/stream`, file, rate);
      expect(events[0]).toMatchObject({ type: 'ready', callId: 'peer-test' });
      expect(events.at(-1)?.type).toBe('call_summary');
      const started = events.find((e) => e.type === 'speech_started');
      expect(started, `${name} ${rate}: ${JSON.stringify(events)}`).toBeDefined();
      expect(started!.t!).toBeGreaterThanOrEqual(l.speechOnsetMs! - 100);
      expect(started!.t!).toBeLessThanOrEqual(l.speechOnsetMs! + 500);
    }
  }, 60_000);
});
