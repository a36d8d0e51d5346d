// The process's servers and shared services. Wires plug in through `addWire`, all the same way (a WebSocket path
// on the HTTP port, or a listener of their own started with the gateway); features through `use`. The call
// contract they meet is in gateway/call/: admission, commands, events and the registry of live calls.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { WebSocketServer } from 'ws';
import { webSocketServer } from './wires/shared/messageCap.js';
import { refuseStart, startCall, type AdmissionVerdict, type StartRefusal } from './call/admission.js';
import type { Call, CallSink } from './call/Call.js';
import { CallRegistry } from './call/CallRegistry.js';
import { EventLog } from './call/EventLog.js';
import type { CallCommand, CommandError } from './call/commands.js';
import type { RemoteCalls } from './call/remote.js';
import { runCommand, type CommandHandlers } from './call/dispatch.js';
import type { StartMessage } from './call/start.js';
import type { Wire, WireContext } from './call/wire.js';
import type { Config } from './config.js';
import { warmUpOnce } from './listen/warmUp.js';
import { warmUpCallsOnce } from './call/warmUp.js';
import { ListenService } from './listen/ListenService.js';
import { isResolved, manifest, resolveModel } from './models.js';
import { BUILTIN_NEAR_END_WEIGHTS } from './listen/nearEnd/NearEndModel.js';
import { BUILTIN_INTERRUPTION_WEIGHTS } from './listen/nearEnd/InterruptionModel.js';
import { interruptionClassifierUsed } from './listen/interruption/contentPossible.js';
import { authorized } from './ops/auth.js';
import { HttpError, requestUrl, Router, sendJson } from './ops/http.js';
import { rootLogger, type Logger } from './ops/log.js';
import { capacitySource, metrics, registry } from './ops/metrics.js';
import { Pacer } from './speak/Playout.js';

/** Optional features register themselves here so the gateway core stays small. */
export interface Plugin {
  name: string;
  start?(gw: Gateway): Promise<void>;
  /** Decides at `start` whether a call may go ahead at all (policy); nothing is played when it may not. */
  admit?(start: StartMessage, gw: Gateway): Promise<AdmissionVerdict>;
  /** Called for every new call, after the pipeline is live. */
  callStarted?(call: Call, gw: Gateway): void | Promise<void>;
  stop?(gw: Gateway): Promise<void>;
}

export interface ModelStatus {
  id: string;
  kind: string;
  present: boolean;
  source?: string;
  disables?: string;
}

export class Gateway implements WireContext {
  readonly router = new Router();
  readonly calls: CallRegistry;
  /** Every call's recent events with their ids (resumable SSE, GET /v1/events). */
  readonly events: EventLog;
  readonly pacer = new Pacer(5);
  readonly log: Logger = rootLogger;
  listen!: ListenService;
  models: ModelStatus[] = [];
  private server: Server;
  /** One WebSocket server per message-size cap (the cap is a server option). */
  private wssByMax = new Map<number, WebSocketServer>();
  private readonly wires: Wire[] = [];
  private readonly wsPaths = new Map<string, Wire>();
  private readonly ports = new Map<string, number>();
  readonly plugins: Plugin[] = [];
  /** Speech, consent, keypad, recorded prompts: filled in by the features. */
  readonly commands: CommandHandlers = {};
  private draining = false;
  private stopping = false;
  /** Calls held by other instances of a fleet: set by the fleet feature (gateway/fleet/), null for one gateway. */
  remote: RemoteCalls | null = null;
  private sweeper: NodeJS.Timeout | null = null;
  ready = false;

  constructor(readonly config: Config) {
    const l = config.limits;
    this.calls = new CallRegistry(l.maxPendingEventStreams);
    // Before any feature's start hook, so that a call's `ready` and every event its features emit are logged.
    this.events = new EventLog(config.events).record(this.calls);
    // handleHttp answers every error itself; should even that fail, the socket goes rather than hangs.
    this.server = createServer(
      {
        // A client trickling a request (or its headers) is answered 408 and closed: one held a socket for 335 s.
        requestTimeout: l.requestTimeoutMs,
        headersTimeout: Math.min(l.headersTimeoutMs, l.requestTimeoutMs),
        connectionsCheckingInterval: 1000,
      },
      (req, res) => void this.handleHttp(req, res).catch(() => res.destroy()),
    );
    // Every call's WebSocket, event stream and control requests share this port; past the cap, new connections
    // are closed at once rather than exhausting descriptors and memory.
    this.server.maxConnections = l.maxConnections ?? 4 * l.maxCalls + 64;
    this.server.on('upgrade', (req, socket, head) => this.handleUpgrade(req, socket, head));
    // Liveness: answered while the process serves or can again by itself. A listen shard given up on (its worker
    // failed and no replacement loaded, ListenService.abandoned) keeps /readyz at 503 for good; only a restart brings
    // it back, so the orchestrator is told here.
    this.router.add('GET', '/healthz', (_q, res) => {
      const lost = this.listen?.abandoned ?? 0;
      if (!lost) return sendJson(res, 200, { ok: true });
      const message = `${lost} of ${this.listen.stats().shards} listen workers failed and could not be replaced; restart the process`;
      sendJson(res, 503, { ok: false, error: 'listen_workers_lost', message });
    }, { public: true });
    // Not ready while loading, draining or full: a load balancer then sends new calls elsewhere, while the calls
    // held here go on (their connections are established) and their control requests still arrive. Public, so a
    // load balancer can probe it; the detail (models, where they were found, capacity) only with the token.
    this.router.add('GET', '/readyz', (req, res) => {
      const ok = this.ready && !this.draining && !this.full && this.listen?.healthy !== false;
      sendJson(res, ok ? 200 : 503, authorized(this.config.apiToken, req) ? this.readiness() : { ready: ok });
    }, { public: true });
    // Drain before a stop (Kubernetes preStop, a rollout): stop taking calls, answer once the calls have ended or
    // after the grace period. The calls still here are ended by the SIGTERM that follows.
    this.router.add('POST', '/v1/drain', async (_q, res) => sendJson(res, 200, await this.drain(this.config.shutdownGraceMs)));
    capacitySource.get = () => ({ active: this.calls.size, max: this.config.limits.maxCalls });
    this.router.add('GET', '/metrics', async (_q, res) => {
      const body = await registry.metrics();
      res.writeHead(200, { 'content-type': registry.contentType });
      res.end(body);
    });
    this.router.add('GET', '/v1/calls', (_q, res) =>
      sendJson(res, 200, { calls: [...this.calls.values()].map((c) => ({ callId: c.id, wire: c.init.wire, t: c.t, callee: c.init.callee })) }),
    );
    this.calls.onStarted((call) => {
      for (const p of this.plugins) {
        Promise.resolve(p.callStarted?.(call, this)).catch((e: Error) => call.log.error({ err: e, plugin: p.name }, 'plugin failed on call start'));
      }
    });
  }

  get isDraining(): boolean {
    return this.draining;
  }

  get serving(): boolean {
    return this.ready && !this.draining;
  }

  /** At limits.maxCalls: new calls are refused `capacity`, and /readyz says so. */
  get full(): boolean {
    return this.calls.size >= this.config.limits.maxCalls;
  }

  /** Every wire registers here, whether it is served on a WebSocket path or listens on its own. */
  addWire(w: Wire): void {
    if (w.path !== undefined) {
      if (this.wsPaths.has(w.path)) throw new Error(`two wires on ${w.path}`);
      this.wsPaths.set(w.path, w);
    }
    this.wires.push(w);
  }

  /** Where a wire with its own listener listens, once started. */
  wirePort(name: string): number | undefined {
    return this.ports.get(name);
  }

  // --- the call contract, as wires see it ------------------------------------------------------------------------

  refuseStart(callId: string): StartRefusal | null {
    return refuseStart(this, callId);
  }

  startCall(start: StartMessage, wire: string, sink: CallSink, gone?: () => boolean): Promise<Call | null> {
    return startCall(this, start, wire, sink, gone);
  }

  command(call: Call, cmd: CallCommand, late?: (e: { code: string; message: string }) => void): CommandError | null {
    return runCommand({ handlers: this.commands, limits: this.config.limits }, call, cmd, late);
  }

  /** The features' verdict on a start, in their order; the first refusal wins. */
  async admit(start: StartMessage): Promise<AdmissionVerdict> {
    const t0 = performance.now();
    try {
      for (const p of this.plugins) {
        if (!p.admit) continue;
        const t = performance.now();
        const verdict = await p.admit(start, this);
        metrics.admissionSeconds.observe({ feature: p.name }, (performance.now() - t) / 1000);
        if (verdict && !verdict.ok) return verdict;
      }
      return { ok: true };
    } finally {
      metrics.admissionSeconds.observe({ feature: 'all' }, (performance.now() - t0) / 1000);
    }
  }

  use(p: Plugin): void {
    this.plugins.push(p);
  }

  readiness(): Record<string, unknown> {
    return {
      ready: this.ready,
      draining: this.draining,
      full: this.full,
      calls: this.calls.size,
      maxCalls: this.config.limits.maxCalls,
      vad: this.listen?.backend,
      listenHealthy: this.listen?.healthy,
      models: this.models,
    };
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
      maxPendingSamples: Math.round(c.vad.maxPendingSeconds * 16000),
      threads: c.vad.threads,
      graph: c.vad.graph,
      shards: c.vad.shards,
      echo: c.echo,
      nearEnd: c.bargeIn.nearEnd.enabled ? c.bargeIn.nearEnd.weights || BUILTIN_NEAR_END_WEIGHTS : null,
      interruption: interruptionClassifierUsed(c) ? c.bargeIn.interruption.weights || BUILTIN_INTERRUPTION_WEIGHTS : null,
      rejectDtmf: c.vad.rejectDtmf,
      // 8 kHz calls' consent windows are cut by Silero's own 8 kHz mode (consent.narrowbandVad).
      narrowVad: c.consent.narrowbandVad === 'native',
    });
    if (this.listen.warning) this.log.warn({ vad: this.listen.backend }, `VAD runs the original graph: ${this.listen.warning}`);
    if (c.vad.warmUp) {
      const w = await warmUpOnce(this.listen, this.listen.stats().shards);
      if (w.ran) this.log.info({ sessions: w.sessions, frames: w.frames, ms: w.ms }, 'listen workers warmed');
    }
    if (c.ops.warmUpCalls > 0) {
      // A warm-up that fails costs the first calls some speed, not the start.
      try {
        const { ran, ...w } = await warmUpCallsOnce({ config: c, listen: this.listen, pacer: this.pacer, log: this.log }, c.ops.warmUpCalls, 4);
        if (ran) this.log.info(w, 'call path warmed');
      } catch (e) {
        this.log.warn({ err: e }, 'call path warm-up failed; starting cold');
      }
    }
    for (const p of this.plugins) await p.start?.(this);
    for (const w of this.wires) {
      const r = await w.start?.(this);
      if (r) this.ports.set(w.name, r.port);
    }
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(c.port, c.host, () => resolve());
    });
    this.sweeper = setInterval(() => this.sweep(), 1000);
    this.sweeper.unref();
    this.ready = true;
    const port = (this.server.address() as { port: number }).port;
    this.log.info({ port, vad: this.listen.backend, vadDetail: this.listen.detail, listenShards: this.listen.stats().shards, wires: this.wires.map((w) => w.path ?? w.name), plugins: this.plugins.map((p) => p.name) }, 'earshot listening');
    return { port };
  }

  /** Ends idle calls (no inbound audio for limits.idleTimeoutMs) and calls older than limits.maxCallMs. */
  private sweep(): void {
    const now = Date.now();
    const l = this.config.limits;
    for (const call of this.calls.values()) {
      if (now - call.lastAudioAt > l.idleTimeoutMs) call.fail('idle_timeout', `no audio for ${l.idleTimeoutMs} ms`, 1001);
      else if (now - call.startedAt > l.maxCallMs) call.fail('max_duration', `call longer than ${l.maxCallMs} ms`, 1008);
    }
  }

  /**
   * One HTTP request. Never throws: a bad target is a 400, a failing handler a 500 on that request only. Nothing
   * about the routes is disclosed before authentication: an unauthenticated request to anything but a public
   * route gets 401 whether the path exists or not.
   */
  private async handleHttp(req: IncomingMessage, res: import('node:http').ServerResponse): Promise<void> {
    res.on('error', () => undefined);
    let path = '(unparsed)';
    try {
      const url = requestUrl(req);
      if (!url) return sendJson(res, 400, { error: 'bad_request', message: 'request target is not a valid path' });
      path = url.pathname;
      const allowed = authorized(this.config.apiToken, req);
      const unauthorized = () => sendJson(res, 401, { error: 'unauthorized', message: 'missing or invalid bearer token' });
      let m: ReturnType<Router['match']>;
      try {
        m = this.router.match(req.method ?? 'GET', url.pathname);
      } catch (e) {
        if (!allowed) return unauthorized(); // not even "your path is malformed" before authentication
        throw e;
      }
      const isPublic = m !== null && m !== 'method' && m.route.public;
      if (!isPublic && !allowed) return unauthorized();
      if (m === null) return sendJson(res, 404, { error: 'not_found', message: `no route ${url.pathname}` });
      if (m === 'method') return sendJson(res, 405, { error: 'method_not_allowed', message: `${req.method} not allowed on ${url.pathname}` });
      await m.route.handler(req, res, m.params, url);
    } catch (e) {
      if (e instanceof HttpError) {
        if (!res.headersSent) return sendJson(res, e.status, { error: e.code, message: e.message });
        return void res.end();
      }
      // A client that went away mid-request (an upload aborted) is not a failure of the route.
      if (req.destroyed || (e as NodeJS.ErrnoException).code === 'ECONNRESET') return void this.log.debug({ path }, 'client went away mid-request');
      this.log.error({ err: e, path }, 'route failed');
      if (!res.headersSent) sendJson(res, 500, { error: 'internal', message: (e as Error).message });
      else res.end();
    }
  }

  /** A WebSocket upgrade. Never throws: whatever goes wrong refuses this one socket. */
  private handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    // A client that resets mid-upgrade must not raise an unhandled 'error' on a socket nobody listens to.
    socket.on('error', () => undefined);
    const refuse = (status: number, text: string) => {
      if (!socket.writable) return void socket.destroy();
      socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      // A peer that never closes its side does not keep the socket.
      setTimeout(() => socket.destroy(), 2000).unref();
    };
    try {
      const url = requestUrl(req);
      if (!url) return refuse(400, 'Bad Request');
      const wire = this.wsPaths.get(url.pathname);
      // Twilio cannot send headers; its wire checks its own credentials at `start`.
      if (!wire?.selfAuth && !authorized(this.config.apiToken, req)) return refuse(401, 'Unauthorized');
      if (!wire?.connect) return refuse(404, 'Not Found');
      const connect = wire.connect.bind(wire);
      if (this.draining) return refuse(503, 'Service Unavailable');
      this.wssFor(wire).handleUpgrade(req, socket, head, (ws) => {
        try {
          connect(ws, req, this);
        } catch (e) {
          this.log.error({ err: e, path: url.pathname }, 'connection setup failed');
          ws.close(1011, 'internal error');
        }
      });
    } catch (e) {
      this.log.error({ err: e }, 'upgrade failed');
      refuse(500, 'Internal Server Error');
    }
  }

  private wssFor(wire: Wire): WebSocketServer {
    const max = wire.maxPayload ?? this.config.limits.maxMessageBytes;
    let wss = this.wssByMax.get(max);
    if (!wss) this.wssByMax.set(max, (wss = webSocketServer(max, this.config.limits.deferMessageEvents)));
    return wss;
  }

  /**
   * Stops taking calls (/readyz 503, starts refused `shutting_down`, upgrades 503) and waits up to `graceMs` for the
   * calls here to end. HTTP stays open meanwhile: the calls' control requests and event streams still arrive.
   */
  async drain(graceMs: number): Promise<{ drained: boolean; calls: number }> {
    if (!this.draining) {
      this.draining = true;
      this.log.info({ calls: this.calls.size, graceMs }, 'draining');
    }
    const deadline = Date.now() + graceMs;
    while (this.calls.size && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    return { drained: this.calls.size === 0, calls: this.calls.size };
  }

  /** Graceful shutdown: stop accepting, let calls finish up to the grace period, then end the rest. */
  async stop(graceMs = this.config.shutdownGraceMs): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.ready = false;
    await this.drain(graceMs);
    this.server.close();
    await Promise.all([...this.calls.values()].map((c) => {
      c.emit({ type: 'error', code: 'shutdown', message: 'gateway is shutting down' });
      return c.end('shutdown', 1001);
    }));
    for (const w of [...this.wires].reverse()) await w.stop?.().catch((e: Error) => this.log.error({ err: e, wire: w.name }, 'wire stop failed'));
    for (const p of [...this.plugins].reverse()) await p.stop?.(this).catch((e: Error) => this.log.error({ err: e }, 'plugin stop failed'));
    if (this.sweeper) clearInterval(this.sweeper);
    this.pacer.stop();
    for (const wss of this.wssByMax.values()) {
      for (const ws of wss.clients) ws.terminate();
      wss.close();
    }
    this.server.closeAllConnections?.();
    await this.listen?.close();
  }
}
