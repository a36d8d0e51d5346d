// A real WebSocket client of the native protocol, streaming at real-time pace (or faster) and recording what
// arrives with wall-clock stamps.
import WebSocket from 'ws';
import { encode, type Encoding } from '../../gateway/audio/codec.js';
import { CallEventSchema } from '../../gateway/call/events.js';

export interface Received {
  events: (Record<string, unknown> & { type: string; t: number; at: number })[];
  frames: { at: number; bytes: number }[];
}

export class TestCall {
  readonly ws: WebSocket;
  readonly rx: Received = { events: [], frames: [] };
  private waiters: { pred: (e: Received['events'][number]) => boolean; resolve: (e: Received['events'][number]) => void }[] = [];
  closed: Promise<{ code: number; reason: string }>;
  private onFirstFrame?: () => void;

  /** Resolves when the first prompt audio frame arrives: the moment playback starts at this end. */
  firstFrame(): Promise<void> {
    if (this.rx.frames.length) return Promise.resolve();
    return new Promise((resolve) => (this.onFirstFrame = resolve));
  }

  /** `contract`: the server is earshot, so every event must be one the call contract defines (peers are not). */
  constructor(url: string, headers: Record<string, string> = {}, opts: { contract?: boolean } = {}) {
    const contract = opts.contract ?? true;
    this.ws = new WebSocket(url, { headers });
    this.ws.on('message', (data, isBinary) => {
      const at = performance.now();
      if (isBinary) {
        this.rx.frames.push({ at, bytes: (data as Buffer).length });
        if (this.rx.frames.length === 1) this.onFirstFrame?.();
        return;
      }
      const json = JSON.parse(String(data));
      // Every event must be one the call contract defines, field for field: an unhandled error fails the run.
      const checked = contract ? CallEventSchema.safeParse(json) : null;
      if (checked && !checked.success) throw new Error(`event outside the call contract: ${String(data).slice(0, 300)}\n${checked.error.message}`);
      const ev = { ...json, at };
      this.rx.events.push(ev);
      this.waiters = this.waiters.filter((w) => (w.pred(ev) ? (w.resolve(ev), false) : true));
    });
    this.closed = new Promise((resolve) => this.ws.on('close', (code, reason) => resolve({ code, reason: String(reason) })));
  }

  opened(): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.ws.readyState === WebSocket.OPEN) return resolve();
      this.ws.once('open', () => resolve());
      this.ws.once('error', reject);
    });
  }

  send(obj: unknown): void {
    this.ws.send(JSON.stringify(obj));
  }

  waitFor(type: string | ((e: Received['events'][number]) => boolean), timeoutMs = 20000): Promise<Received['events'][number]> {
    const pred = typeof type === 'string' ? (e: { type: string }) => e.type === type : type;
    const found = this.rx.events.find(pred);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${String(type)}; got ${this.rx.events.map((e) => e.type).join(',')}`)), timeoutMs);
      this.waiters.push({ pred, resolve: (e) => (clearTimeout(timer), resolve(e)) });
    });
  }

  events(type: string): Received['events'] {
    return this.rx.events.filter((e) => e.type === type);
  }

  async start(opts: { callId: string; encoding: Encoding; sampleRate: number; [k: string]: unknown }): Promise<Received['events'][number]> {
    await this.opened();
    const { callId, encoding, sampleRate, ...rest } = opts;
    this.send({ type: 'start', callId, language: 'zh', callType: 'notification', audio: { encoding, sampleRate }, ...rest });
    return this.waitFor((e) => e.type === 'ready' || e.type === 'rejected' || e.type === 'error');
  }

  /** Streams samples in 20 ms frames; `speed` 1 = real time. */
  async stream(samples: Int16Array, encoding: Encoding, sampleRate: number, speed = 1, onFrame?: (ms: number) => void): Promise<void> {
    const n = (sampleRate * 20) / 1000;
    const t0 = performance.now();
    for (let i = 0, k = 0; i < samples.length; i += n, k++) {
      if (this.ws.readyState !== WebSocket.OPEN) return;
      this.ws.send(encode(encoding, samples.subarray(i, i + n)));
      onFrame?.(k * 20);
      const due = t0 + ((k + 1) * 20) / speed;
      const wait = due - performance.now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    }
  }

  async hangup(): Promise<Received['events'][number]> {
    this.send({ type: 'hangup' });
    return this.waitFor('call_summary');
  }

  close(): void {
    this.ws.close();
  }
}

export function b64(encoding: Encoding, samples: Int16Array): string {
  return Buffer.from(encode(encoding, samples)).toString('base64');
}
