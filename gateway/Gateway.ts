// The process's servers and shared services. Wires plug in here: WebSocket paths for ws-based wires, and
// start/stop hooks for wires with their own listeners (AudioSocket TCP, gRPC).
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Call } from './call/Call.js';
import type { Config } from './config.js';
import { ListenService } from './listen/ListenService.js';
import { isResolved, manifest, resolveModel } from './models.js';
import { authorized } from './ops/auth.js';
import { HttpError, Router, sendJson } from './ops/http.js';
import { rootLogger, type Logger } from './ops/log.js';
import { metrics, registry } from './ops/metrics.js';
import { Pacer } from './speak/Playout.js';

/** Commands beyond raw audio that any wire (or the HTTP control API) can send to a call; features fill them in. */
export interface CallCommands {
  say?(call: Call, m: { promptId: string; text: string; interruptible: boolean; voice?: string; slots?: Record<string, string> }): Promise<void>;
  expectConsent?(call: Call, m: { promptId?: string; windowMs?: number }): void;
  dtmf?(call: Call, digit: string): void;
  /** Why this call may not `play` audio at all (its approved script governs what it says), or null if it may. */
  playRefusal?(call: Call): { code: string; message: string } | null;
  /** A recorded prompt (uploaded once, played by id) as PCM at `sampleRate`, or undefined if there is none. */
  recordedPrompt?(promptId: string, sampleRate: number): Int16Array | undefined;
}

export interface WsWire {
  path: string;
  onConnection(ws: WebSocket, req: IncomingMessage, gw: Gateway): void;
}

/** Optional features register themselves here so the gateway core stays small. */
export interface Plugin {
  name: string;
  start?(gw: Gateway): Promise<void>;
  /** Decides at `start` whether a call may go ahead at all (policy); nothing is played when it may not. */
  admit?(start: import('./wires/native.js').StartMessage, gw: Gateway): Promise<{ ok: true } | { ok: false; reason: string }>;
  /** Called for every new call, after the pipeline is live. */
  callStarted?(call: Call, gw: Gateway): void | Promise<void>;
  stop?(gw: Gateway): Promise<void>;
}

/** How a call awaited by id turned out: it started, it was refused at start, or neither happened in time. */
export type CallArrival = { call: Call } | { rejected: string } | { timeout: true };

export interface ModelStatus {
  id: string;
  kind: string;
  present: boolean;
  source?: string;
  disables?: string;
}

export class Gateway {
  readonly router = new Router();
  readonly calls = new Map<string, Call>();
  readonly pacer = new Pacer(5);
  readonly log: Logger = rootLogger;
  listen!: ListenService;
  models: ModelStatus[] = [];
  private server: Server;
  private wss: WebSocketServer;
  private wires = new Map<string, WsWire>();
  readonly plugins: Plugin[] = [];
  readonly commands: CallCommands = {};
  /** Callbacks waiting for a call id to start or be refused (an event stream opened before the wire's start). */
  private awaiting = new Map<string, Set<(a: CallArrival) => void>>();
  /** Recent refusals by call id, for a subscriber that arrives just after its call was refused (bounded, 30 s). */
  private refusals = new Map<string, { reason: string; at: number }>();
  private draining = false;
  private sweeper: NodeJS.Timeout | null = null;
  ready = false;

  constructor(readonly config: Config) {
    this.server = createServer((req, res) => void this.handleHttp(req, res));
    this.wss = new WebSocketServer({ noServer: true, maxPayload: config.limits.maxMessageBytes });
    this.server.on('upgrade', (req, socket, head) => this.handleUpgrade(req, socket, head));
    this.router.add('GET', '/healthz', (_q, res) => sendJson(res, 200, { ok: true }), { public: true });
    this.router.add('GET', '/readyz', (_q, res) => sendJson(res, this.ready && !this.draining && this.listen?.healthy !== false ? 200 : 503, this.readiness()), { public: true });
    this.router.add('GET', '/metrics', async (_q, res) => {
      const body = await registry.metrics();
      res.writeHead(200, { 'content-type': registry.contentType });
      res.end(body);
    });
    this.router.add('GET', '/v1/calls', (_q, res) =>
      sendJson(res, 200, { calls: [...this.calls.values()].map((c) => ({ callId: c.id, wire: c.init.wire, t: c.t, callee: c.init.callee })) }),
    );
  }

  get isDraining(): boolean {
    return this.draining;
  }

  addWire(w: WsWire): void {
    this.wires.set(w.path, w);
  }

  use(p: Plugin): void {
    this.plugins.push(p);
  }

  readiness(): Record<string, unknown> {
    return { ready: this.ready, draining: this.draining, calls: this.calls.size, vad: this.listen?.backend, listenHealthy: this.listen?.healthy, models: this.models };
  }

  /** Looks at every model in the manifest, says what is missing and what that disables. */
  checkModels(): void {
    const c = this.config;
    const vadId = c.vad.backend === 'sherpa-ten' ? 'ten-vad' : 'silero-vad-v5';
    this.models = manifest().map((m) => {
      const r = resolveModel(m.id, c.modelsDir);
      const present = isResolved(r);
      const inUse = m.id === vadId || m.id === c.asr.model;
      const disables = present
        ? undefined
        : m.id === vadId
          ? 'barge-in (no VAD): the gateway cannot start'
          : m.id === c.asr.model
            ? 'speech recognition and consent decisions'
            : m.kind === 'voice' || m.kind === 'tts'
              ? `the "${m.id}" voice`
              : 'nothing configured';
      if (!present && inUse) this.log.warn({ model: m.id, looked: (r as { missing: string[] }).missing }, `model missing: disables ${disables}; run \`npm run models -- ${m.id}\``);
      return { id: m.id, kind: m.kind, present, source: present ? r.source : undefined, disables };
    });
  }

  async start(): Promise<{ port: number }> {
    const c = this.config;
    if (!c.apiToken) {
      this.log.warn('EARSHOT_API_TOKEN is not set: every endpoint is OPEN to anyone who can reach this port');
    }
    this.checkModels();
    const vadId = c.vad.backend === 'sherpa-ten' ? 'ten-vad' : 'silero-vad-v5';
    const vadModel = resolveModel(vadId, c.modelsDir);
    if (!isResolved(vadModel)) {
      throw new Error(`VAD model ${vadId} not found (looked in ${vadModel.missing.join(', ')}); run \`npm run models -- ${vadId}\``);
    }
    this.listen = await ListenService.start({
      backend: c.vad.backend,
      modelPath: vadModel.files.model,
      tickMs: c.vad.tickMs,
      threads: c.vad.threads,
      graph: c.vad.graph,
      shards: c.vad.shards,
      echo: c.echo,
    });
    if (this.listen.warning) this.log.warn({ vad: this.listen.backend }, `VAD runs the original graph: ${this.listen.warning}`);
    for (const p of this.plugins) await p.start?.(this);
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(c.port, c.host, () => resolve());
    });
    this.sweeper = setInterval(() => this.sweep(), 1000);
    this.sweeper.unref();
    this.ready = true;
    const port = (this.server.address() as { port: number }).port;
    this.log.info({ port, vad: this.listen.backend, vadDetail: this.listen.detail, listenShards: this.listen.stats().shards, wires: [...this.wires.keys()], plugins: this.plugins.map((p) => p.name) }, 'earshot listening');
    return { port };
  }

  /** Ends idle calls: no inbound audio for limits.idleTimeoutMs. */
  private sweep(): void {
    const now = Date.now();
    for (const call of this.calls.values()) {
      if (now - call.lastAudioAt > this.config.limits.idleTimeoutMs) {
        call.fail('idle_timeout', `no audio for ${this.config.limits.idleTimeoutMs} ms`, 1001);
      }
    }
  }

  /**
   * Calls `cb` once, synchronously, when `callId` starts (before any of its events) or is refused at start, or
   * with `timeout` after `timeoutMs`. Returns a cancel function.
   */
  awaitCall(callId: string, timeoutMs: number, cb: (a: CallArrival) => void): () => void {
    let set = this.awaiting.get(callId);
    if (!set) this.awaiting.set(callId, (set = new Set()));
    const waiter = (a: CallArrival) => {
      cancel();
      cb(a);
    };
    const timer = setTimeout(() => waiter({ timeout: true }), timeoutMs);
    const cancel = () => {
      clearTimeout(timer);
      set.delete(waiter);
      if (!set.size && this.awaiting.get(callId) === set) this.awaiting.delete(callId);
    };
    set.add(waiter);
    return cancel;
  }

  /** A call refused at start (policy, capacity, shutdown): whoever awaits its id learns why. */
  announceRejected(callId: string, reason: string): void {
    metrics.callsRejected.inc({ reason });
    this.refusals.delete(callId);
    this.refusals.set(callId, { reason, at: performance.now() });
    if (this.refusals.size > 1000) this.refusals.delete(this.refusals.keys().next().value!);
    this.arrive(callId, { rejected: reason });
  }

  /** Why `callId` was refused at start within the last 30 s, if it was. */
  recentRefusal(callId: string): string | undefined {
    const r = this.refusals.get(callId);
    return r && performance.now() - r.at < 30_000 ? r.reason : undefined;
  }

  private arrive(callId: string, a: CallArrival): void {
    const set = this.awaiting.get(callId);
    if (set) for (const w of [...set]) w(a);
  }

  registerCall(call: Call): void {
    this.calls.set(call.id, call);
    this.refusals.delete(call.id);
    this.arrive(call.id, { call });
    for (const p of this.plugins) {
      Promise.resolve(p.callStarted?.(call, this)).catch((e: Error) => call.log.error({ err: e, plugin: p.name }, 'plugin failed on call start'));
    }
  }

  unregisterCall(call: Call): void {
    if (this.calls.get(call.id) === call) this.calls.delete(call.id);
  }

  private async handleHttp(req: IncomingMessage, res: import('node:http').ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    const m = this.router.match(req.method ?? 'GET', url.pathname);
    if (m === null) return sendJson(res, 404, { error: 'not_found', message: `no route ${url.pathname}` });
    if (m === 'method') return sendJson(res, 405, { error: 'method_not_allowed', message: `${req.method} not allowed on ${url.pathname}` });
    if (!m.route.public && !authorized(this.config.apiToken, req)) {
      return sendJson(res, 401, { error: 'unauthorized', message: 'missing or invalid bearer token' });
    }
    try {
      await m.route.handler(req, res, m.params, url);
    } catch (e) {
      if (e instanceof HttpError) return sendJson(res, e.status, { error: e.code, message: e.message });
      this.log.error({ err: e, path: url.pathname }, 'route failed');
      if (!res.headersSent) sendJson(res, 500, { error: 'internal', message: (e as Error).message });
    }
  }

  private handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://x');
    const wire = this.wires.get(url.pathname);
    const refuse = (status: number, text: string) => {
      socket.write(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      socket.destroy();
    };
    if (!wire) return refuse(404, 'Not Found');
    // Twilio cannot send headers; its wire checks its own credentials at `start`.
    const selfAuth = (wire as { selfAuth?: boolean }).selfAuth;
    if (!selfAuth && !authorized(this.config.apiToken, req)) return refuse(401, 'Unauthorized');
    if (this.draining) return refuse(503, 'Service Unavailable');
    this.wss.handleUpgrade(req, socket, head, (ws) => wire.onConnection(ws, req, this));
  }

  /** Graceful shutdown: stop accepting, let calls finish up to the grace period, then end the rest. */
  async stop(graceMs = this.config.shutdownGraceMs): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    this.ready = false;
    this.log.info({ calls: this.calls.size, graceMs }, 'draining');
    this.server.close();
    const deadline = Date.now() + graceMs;
    while (this.calls.size && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    await Promise.all([...this.calls.values()].map((c) => {
      c.emit({ type: 'error', code: 'shutdown', message: 'gateway is shutting down' });
      return c.end('shutdown', 1001);
    }));
    for (const p of [...this.plugins].reverse()) await p.stop?.(this).catch((e: Error) => this.log.error({ err: e }, 'plugin stop failed'));
    if (this.sweeper) clearInterval(this.sweeper);
    this.pacer.stop();
    for (const ws of this.wss.clients) ws.terminate();
    this.wss.close();
    this.server.closeAllConnections?.();
    await this.listen?.close();
  }
}
