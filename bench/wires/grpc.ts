// The gateway's gRPC wire (proto/earshot/v1/earshot.proto, StreamCall): one bidi stream per call; the first
// request is the call config, later ones audio or a command. Responses carry each event as the native protocol's
// JSON (so the metrics see exactly the fields they see over ws) or a prompt audio frame.
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { parseEvent, ReadyGate, START_TIMEOUT_MS } from './ready.js';
import type { StartParams, Wire, WireCall } from './types.js';

/** After close(), how long the gateway gets to finish the stream before it is cancelled (never left on the channel). */
const CLOSE_GRACE_MS = 5_000;
const DEFAULT_GRPC_PORT = 50051;
const FLOW_CONTROL_WINDOW = 8 * 1024 * 1024;

// Loaded here rather than via gateway/wires/grpc.ts's loadProtos(), which would pull the gateway's modules (and
// its metrics registry) into the load generator. Same options as the gateway: camelCase fields, oneof names.
const PROTO_DIR = fileURLToPath(new URL('../../proto', import.meta.url));
const LOADER_OPTS: protoLoader.Options = { keepCase: false, longs: Number, enums: String, defaults: false, oneofs: true, includeDirs: [PROTO_DIR] };

interface Response {
  event?: { type: string; t: number; json: string };
  audio?: { promptId: string; offsetMs: number; audio: Buffer };
}
type Stream = grpc.ClientDuplexStream<unknown, Response>;
type EarshotClient = grpc.Client & { StreamCall(md: grpc.Metadata): Stream };

let EarshotCtor: grpc.ServiceClientConstructor | null = null;
/**
 * One client (channel = one HTTP/2 connection) per gateway address per process, shared by every call, as a
 * telephony platform would multiplex its calls. The gateway leaves HTTP/2 max concurrent streams at Node's
 * default (unlimited), so one connection carries a whole step; with --gen-workers each worker has its own.
 * Measured limit of sharing: the gateway's receive window is Node's default (64 KiB per connection; grpc-js has
 * no server option for it), so a `play` (a whole ~200 KB prompt in one message) needs several window round trips
 * through the gateway's event loop, and the other calls' caller audio queues behind it. At 20 calls: first-audio
 * p95 ~10 ms above ws and rare pause-wall outliers (+40 ms); p50/p95 of pause and barge-in equal to ws.
 */
const clients = new Map<string, EarshotClient>();

function clientFor(address: string): EarshotClient {
  let c = clients.get(address);
  if (c) return c;
  if (!EarshotCtor) {
    const def = protoLoader.loadSync('earshot/v1/earshot.proto', LOADER_OPTS);
    const root = grpc.loadPackageDefinition(def) as unknown as { earshot: { v1: { Earshot: grpc.ServiceClientConstructor } } };
    EarshotCtor = root.earshot.v1.Earshot;
  }
  c = new EarshotCtor(address, grpc.credentials.createInsecure(), {
    // Our receive window (connection and per stream). Node's default, 64 KiB for the whole connection, would let
    // all calls' prompt audio together (32 KB/s each at pcm16 16 kHz) move only 64 KiB per event-loop turn of this
    // process: under generator lag that throttles a shared channel well before the gateway is the limit.
    'grpc-node.flow_control_window': FLOW_CONTROL_WINDOW,
  }) as unknown as EarshotClient;
  clients.set(address, c);
  return c;
}

/** `ws://H:P/?grpc=H:P` (bench/wires/index.ts wireTarget); without the parameter, the URL's host on 50051. */
function grpcAddress(url: string): string {
  const u = new URL(url);
  return u.searchParams.get('grpc') ?? `${u.hostname}:${DEFAULT_GRPC_PORT}`;
}

export const grpcWire: Wire = {
  name: 'grpc',
  async connect(url, handlers, token) {
    const client = clientFor(grpcAddress(url));
    // Channels connect lazily: wait here so a gateway that is not listening fails connect() (as on ws), not start().
    await new Promise<void>((resolve, reject) =>
      client.waitForReady(Date.now() + START_TIMEOUT_MS, (err) => (err ? reject(new Error(`grpc connect: ${err.message}`)) : resolve())),
    );
    const md = new grpc.Metadata();
    if (token) md.set('authorization', `Bearer ${token}`);
    const stream = client.StreamCall(md);

    const ready = new ReadyGate();
    let closedReason: string | null = null;
    let ended = false; // we half-closed: writing now would be a write-after-end error
    let status: grpc.StatusObject | null = null;
    let graceTimer: NodeJS.Timeout | undefined;

    const finish = (reason: string) => {
      if (closedReason !== null) return;
      closedReason = reason;
      clearTimeout(graceTimer);
      ready.fail(new Error(`stream closed before ready (${reason})`));
      handlers.onClose(reason);
    };

    stream.on('data', (r: Response) => {
      const wall = performance.now();
      if (r.audio) return handlers.onAudio(r.audio.audio, wall);
      if (!r.event) return;
      const ev = parseEvent(String(r.event.json));
      ready.see(ev);
      handlers.onEvent(ev, wall);
    });
    // grpc-js emits 'error' for every non-OK status and then 'status'; the status is the one place handled.
    stream.on('error', () => undefined);
    // 'status' can be emitted before the readable side has delivered its last messages (push(null) then emit):
    // report the close only once both have happened, so a call_summary is never seen after onClose.
    const maybeFinish = () => {
      if (status && stream.readableEnded) finish(status.code === grpc.status.OK ? 'ok' : `${grpc.status[status.code]}: ${status.details}`);
    };
    stream.on('status', (s: grpc.StatusObject) => {
      status = s;
      maybeFinish();
    });
    stream.on('end', maybeFinish);

    const write = (req: unknown) => {
      if (closedReason === null && !ended && !status) stream.write(req);
    };
    const call: WireCall = {
      start(p: StartParams) {
        if (closedReason !== null) return Promise.reject(new Error(`stream closed before start (${closedReason})`));
        return ready.wait(() =>
          write({
            config: {
              callId: p.callId,
              language: p.language,
              callType: p.callType,
              audio: { encoding: p.audio.encoding, sampleRate: p.audio.sampleRate },
              callee: p.callee,
            },
          }),
        );
      },
      sendAudio(frame) {
        write({ audio: frame });
      },
      play(promptId, audioBase64, interruptible) {
        // Empty audio (proto3 bytes cannot be absent) = the recorded prompt uploaded as promptId.
        write({ play: { promptId, audio: audioBase64 === null ? Buffer.alloc(0) : Buffer.from(audioBase64, 'base64'), interruptible } });
      },
      expectConsent(promptId) {
        write({ expectConsent: { promptId } });
      },
      hangup() {
        write({ hangup: {} });
      },
      close() {
        if (closedReason !== null || ended) return;
        // Half-close: the gateway ends the call ('client_gone' if still up) and finishes the stream with OK.
        ended = true;
        stream.end();
        graceTimer = setTimeout(() => stream.cancel(), CLOSE_GRACE_MS);
        graceTimer.unref();
      },
      // Object-mode stream: messages queued, not bytes. Growth still means the same thing (nobody keeps up).
      bufferedBytes: () => stream.writableLength,
    };
    return call;
  },
};
