// The half of a call that audio-only wires (Twilio Media Streams, AudioSocket) cannot carry: commands go to the
// gateway's HTTP control API (`POST /v1/calls/:callId/<command>`) and events come back from its SSE stream
// (`GET /v1/calls/:callId/events`) in the native shape — what a Twilio or Asterisk platform would do.
//
// Readiness: these wires carry no `ready`/`rejected`, so, as a platform would, `attach` opens the call's event
// stream BEFORE the wire's start (`?wait=`: the gateway holds it until the call exists) and the stream begins with
// `ready`, or carries `rejected {reason}` (do-not-call, calling hours, capacity, …) when the call is refused.
import * as http from 'node:http';
import * as https from 'node:https';
import { performance } from 'node:perf_hooks';
import { START_TIMEOUT_MS } from './ready.js';
import type { GatewayEvent, WireHandlers } from './types.js';

/** How long a closed transport waits for the SSE stream to deliver `call_summary` before reporting onClose. */
const SUMMARY_GRACE_MS = 2000;

// Keep-alive: polls and commands reuse connections instead of paying a TCP handshake inside the measured paths
// (firstAudioMs starts when `play` is sent). Idle sockets are dropped after 2 s, before Node's server closes them
// (keepAliveTimeout, 5 s by default), so a command rarely lands on a socket the gateway is closing.
const agentOptions = { keepAlive: true, timeout: 2000 };
const agents = { 'http:': new http.Agent(agentOptions), 'https:': new https.Agent(agentOptions) };

/** `ws://host:port/anything?…` → `http://host:port` (wss → https). */
export function httpBase(url: string): string {
  const u = new URL(url);
  return `${u.protocol === 'wss:' || u.protocol === 'https:' ? 'https:' : 'http:'}//${u.host}`;
}

function readBody(res: http.IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let s = '';
    res.setEncoding('utf8');
    res.on('data', (d: string) => (s += d));
    res.on('end', () => resolve(s));
    res.on('error', () => resolve(s));
    res.on('aborted', () => resolve(s));
  });
}

export class CallControl {
  private callId = '';
  private readonly base: URL;
  /** Commands leave one at a time: over one native socket `play` then `expect_consent` arrive in that order. */
  private queue: Promise<unknown> = Promise.resolve();
  private sse: http.ClientRequest | null = null;
  private sseEnded: Promise<void> = Promise.resolve();
  private transportGone: string | null = null;
  private stopped = false;
  /** Set while `attach` waits for the stream's first word on the call: `ready` or `rejected`. */
  private onReady: ((ev: GatewayEvent) => void) | null = null;
  private notified = false;

  constructor(
    url: string,
    private readonly token: string | null,
    private readonly handlers: WireHandlers,
  ) {
    this.base = new URL(httpBase(url));
  }

  private request(method: string, path: string, body?: string): Promise<{ req: http.ClientRequest; res: http.IncomingMessage }> {
    const headers: Record<string, string> = {};
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    if (body !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(Buffer.byteLength(body));
    }
    const mod = this.base.protocol === 'https:' ? https : http;
    const attempt = (retry: boolean) =>
      new Promise<{ req: http.ClientRequest; res: http.IncomingMessage }>((resolve, reject) => {
        const req = mod.request(new URL(path, this.base), { method, headers, agent: agents[this.base.protocol as 'http:'] }, (res) => resolve({ req, res }));
        req.on('error', (e: NodeJS.ErrnoException) => {
          // The server closed a pooled socket as the request went out: it never saw the request, so send it again.
          if (retry && req.reusedSocket && e.code === 'ECONNRESET') resolve(attempt(false));
          else reject(e);
        });
        req.end(body);
      });
    return attempt(true);
  }

  /** A POST outside the per-call routes (AudioSocket call metadata); throws with the gateway's answer if refused. */
  async post(path: string, body: unknown): Promise<void> {
    const { res } = await this.request('POST', path, JSON.stringify(body));
    const text = await readBody(res);
    if (!res.statusCode || res.statusCode >= 300) throw new Error(`POST ${path}: HTTP ${res.statusCode} ${text.slice(0, 200)}`);
  }

  /**
   * Opens the call's event stream ahead of the call; call it before sending the wire's start. Resolves on `ready`,
   * rejects with the reason on `rejected`, or when the call never appears.
   */
  attach(callId: string): Promise<void> {
    this.callId = callId;
    const path = `/v1/calls/${encodeURIComponent(callId)}/events?wait=${START_TIMEOUT_MS}`;
    return new Promise<void>((resolve, reject) => {
      this.onReady = (ev) => {
        this.onReady = null;
        if (ev.type === 'ready') resolve();
        else reject(new Error(`rejected: ${String(ev.reason ?? '')}`));
      };
      this.request('GET', path).then(
        async ({ req, res }) => {
          if (res.statusCode !== 200) {
            const text = await readBody(res);
            this.onReady = null;
            return reject(new Error(res.statusCode === 404 ? `no ready within ${START_TIMEOUT_MS} ms (call ${callId} never started)` : `events stream: HTTP ${res.statusCode} ${text.slice(0, 200)}`));
          }
          this.sse = req;
          this.follow(res);
          if (this.stopped) req.destroy();
          // The stream ending before its first event (gateway gone) must not leave the start waiting forever.
          void this.sseEnded.then(() => {
            if (!this.onReady) return;
            this.onReady = null;
            reject(new Error(`closed before ready (${this.transportGone ?? 'stream ended'})`));
          });
        },
        (e: Error) => {
          this.onReady = null;
          reject(e);
        },
      );
    });
  }

  private follow(res: http.IncomingMessage): void {
    this.sseEnded = new Promise<void>((resolve) => {
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        const wall = performance.now();
        buf += d;
        let i: number;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const data = block
            .split('\n')
            .filter((l) => l.startsWith('data:'))
            .map((l) => l.slice(5).replace(/^ /, ''))
            .join('\n');
          if (!data) continue; // comment / keepalive
          let ev: GatewayEvent;
          try {
            ev = JSON.parse(data) as GatewayEvent;
          } catch {
            this.handlers.onEvent({ type: 'bench_bad_json', raw: data.slice(0, 200) }, wall);
            continue;
          }
          if (this.onReady && (ev.type === 'ready' || ev.type === 'rejected')) this.onReady(ev);
          this.handlers.onEvent(ev, wall);
        }
      });
      res.on('end', resolve);
      res.on('close', resolve);
      res.on('error', resolve);
    });
  }

  /**
   * One command. A refusal (HTTP 4xx/5xx) becomes the `error` event the native wire would have sent, e.g.
   * `consent_unavailable` from expect_consent, so the runner sees the same thing on every wire.
   */
  command(cmd: string, body: Record<string, unknown>, report = true): Promise<boolean> {
    const run = async (): Promise<boolean> => {
      if (this.stopped || !this.callId) return false;
      try {
        const { res } = await this.request('POST', `/v1/calls/${encodeURIComponent(this.callId)}/${cmd}`, JSON.stringify(body));
        const text = await readBody(res);
        if (res.statusCode && res.statusCode < 300) return true;
        if (report) {
          let j: { error?: string; message?: string } = {};
          try {
            j = JSON.parse(text);
          } catch {
            // not JSON: the status says enough
          }
          this.handlers.onEvent({ type: 'error', code: j.error ?? `http_${res.statusCode}`, message: j.message ?? text.slice(0, 200), command: cmd }, performance.now());
        }
      } catch (e) {
        if (report) this.handlers.onEvent({ type: 'error', code: 'control_unreachable', message: (e as Error).message, command: cmd }, performance.now());
      }
      return false;
    };
    const p = this.queue.then(run);
    this.queue = p;
    return p;
  }

  /**
   * Hangup through the control API; the gateway then emits `call_summary` and closes the transport itself.
   * `farEndHangup` (Twilio `stop`, AudioSocket 0x00) is what the platform sends when the call leg ends: sent only
   * if the transport is still open once the summary came (or the command failed), as the gateway's own close
   * normally comes first. Sending both at once would race the two and end some calls as `stop` instead of `hangup`.
   */
  hangup(farEndHangup: () => void): void {
    void this.command('hangup', {}, false).then(async (ok) => {
      if (ok) await Promise.race([this.sseEnded, new Promise((r) => setTimeout(r, SUMMARY_GRACE_MS))]);
      if (this.transportGone === null) farEndHangup();
    });
  }

  /**
   * The call's transport ended. The gateway writes `call_summary` to SSE and closes the transport in the same
   * tick, on two connections: onClose waits for the stream (it ends right after the summary) so the runner, which
   * stops waiting for the summary at onClose, still gets it.
   */
  transportClosed(reason: string): void {
    if (this.transportGone !== null) return;
    this.transportGone = reason;
    const timer = setTimeout(() => this.notifyClose(), SUMMARY_GRACE_MS);
    void this.sseEnded.then(() => {
      clearTimeout(timer);
      this.notifyClose();
    });
  }

  private notifyClose(): void {
    if (this.notified) return;
    this.notified = true;
    this.sse?.destroy();
    this.handlers.onClose(this.transportGone ?? 'closed');
  }

  /** Stops polling/commands and drops the event stream; onClose still comes from transportClosed. */
  close(): void {
    this.stopped = true;
    this.sse?.destroy();
  }
}
