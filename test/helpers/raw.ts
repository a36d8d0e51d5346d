// Raw TCP clients for requests no well-behaved HTTP library would send.
import { connect, type Socket } from 'node:net';

/** Sends `text` as is and resolves with everything the server sent until it closed (or `timeoutMs` passed). */
export function rawRequest(port: number, text: string | Buffer, timeoutMs = 3000): Promise<{ response: string; closed: boolean }> {
  return new Promise((resolve) => {
    const s: Socket = connect(port, '127.0.0.1');
    let response = '';
    const t = setTimeout(() => {
      s.destroy();
      resolve({ response, closed: false });
    }, timeoutMs);
    s.on('data', (d) => (response += d.toString('latin1')));
    s.on('error', () => undefined);
    s.on('close', () => {
      clearTimeout(t);
      resolve({ response, closed: true });
    });
    s.write(text);
  });
}

/** The status code of the first response line, or 0 if none came. */
export function statusOf(response: string): number {
  const m = /^HTTP\/1\.1 (\d{3})/.exec(response);
  return m ? Number(m[1]) : 0;
}
