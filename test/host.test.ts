// Host (gateway/infer/Host.ts): one module, run as a worker thread or as a helper process, with the same start-up
// data, the same messages and the same report of its death.
import { describe, expect, it } from 'vitest';
import { startHost, type Host, type HostKind } from '../gateway/infer/Host.js';

const ECHO = new URL('./fixtures/hostEcho.ts', import.meta.url);
// More than Linux lets one environment variable hold (128 KB): a large lexicon's hotwords would be this big.
const BLOB = 'x'.repeat(300_000);

function reply(h: Host): Promise<{ got: number; dataLength: number; name: string }> {
  return new Promise((resolve) => h.onMessage(resolve));
}

function death(h: Host): Promise<string> {
  return new Promise((resolve) => h.onDeath(resolve));
}

describe.each<HostKind>(['process', 'thread'])('a %s host', (kind) => {
  it('hands the module its start-up data, however large, and requests posted before it listens', async () => {
    const h = startHost(kind, ECHO, { blob: BLOB });
    try {
      const answered = reply(h);
      h.post({ n: 7 });
      const r = await answered;
      expect(r.got).toBe(7);
      expect(r.dataLength).toBe(BLOB.length);
      expect(r.name).toMatch(kind === 'process' ? /^process-\d+$/ : /^thread-\d+$/);
      if (kind === 'process') expect(r.name).toBe(`process-${h.pid}`);
    } finally {
      await h.stop();
    }
  });

  it('reports an uncaught error in the module as its death, with the error', async () => {
    const h = startHost(kind, ECHO, { blob: '' });
    const died = death(h);
    h.post({ n: -1 });
    expect(await died).toMatch(/deliberate failure in hostEcho/);
  });

  it('kill() ends it at once and reports that; stop() ends it without a report', async () => {
    const killed = startHost(kind, ECHO, { blob: '' });
    const died = death(killed);
    const up = reply(killed);
    killed.post({ n: 1 });
    await up;
    killed.kill();
    expect(await died).toMatch(kind === 'process' ? /killed by SIGKILL/ : /exited with code 1/);

    const stopped = startHost(kind, ECHO, { blob: '' });
    let reported = false;
    stopped.onDeath(() => (reported = true));
    const up2 = reply(stopped);
    stopped.post({ n: 1 });
    await up2;
    await stopped.stop();
    expect(reported).toBe(false);
  });
});
