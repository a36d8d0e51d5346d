// How a wire plugs in. A wire translates one platform's protocol into the call contract and back: its start
// metadata into a `StartMessage`, its audio into `call.audio`, its commands into `runCommand`, and the call's
// audio and events (through its `CallSink`) into the platform's messages. It sees the gateway only as a
// `WireContext`. Every wire registers the same way (`gateway/wires/index.ts`, one line each): a WebSocket wire
// names its path on the gateway's HTTP port; a wire with a listener of its own (AudioSocket TCP, gRPC) starts it.
import type { IncomingMessage } from 'node:http';
import type { WebSocket } from 'ws';
import type { Config } from '../config.js';
import type { Router } from '../ops/http.js';
import type { Logger } from '../ops/log.js';
import type { StartRefusal } from './admission.js';
import type { Call, CallSink } from './Call.js';
import type { CallRegistry } from './CallRegistry.js';
import type { CallCommand, CommandError } from './commands.js';
import type { StartMessage } from './start.js';

export interface Wire {
  /** Short name: logs, metrics, `call.init.wire`. */
  readonly name: string;
  /** A WebSocket wire: the upgrade path it serves on the gateway's HTTP port, e.g. `/v1/twilio`. */
  readonly path?: string;
  /**
   * The wire authenticates its own connections, so the gateway does not demand the bearer token at the upgrade
   * (Twilio cannot send headers: it signs, or carries a token parameter in its start message).
   */
  readonly selfAuth?: boolean;
  /** Largest message a WebSocket wire takes (default limits.maxMessageBytes), enforced while the frame is read. */
  readonly maxPayload?: number;
  /** A new WebSocket on `path` (already authenticated unless `selfAuth`). */
  connect?(ws: WebSocket, req: IncomingMessage, ctx: WireContext): void;
  /**
   * Starts the wire's own listener and its HTTP side routes, if it has any, once the features are up and before
   * the gateway's HTTP port opens. Returns the port it listens on (0 in the configuration = ephemeral).
   */
  start?(ctx: WireContext): Promise<{ port: number } | void>;
  /** Stops listening and ends its connections, before the features stop. */
  stop?(): Promise<void>;
}

/** What a wire sees of the gateway: the call contract and the little of the process a wire needs. */
export interface WireContext {
  readonly config: Config;
  readonly log: Logger;
  /** HTTP routes on the gateway's port, for a wire's side API (e.g. AudioSocket call registration). */
  readonly router: Router;
  readonly calls: CallRegistry;
  /** Started and not draining: what a health check reports. */
  readonly serving: boolean;
  /** May a call with this id start now? null = yes. Answer a refusal at once, in the wire's own way. */
  refuseStart(callId: string): StartRefusal | null;
  /**
   * Admits (features: script, policy) and starts the call: `ready`, or `rejected` and the sink closed with 4403.
   * `gone`: the wire's connection closed while admission ran.
   */
  startCall(start: StartMessage, wire: string, sink: CallSink, gone?: () => boolean): Promise<Call | null>;
  /** Runs a command on a live call; null once under way, else why not (see `runCommand` for `late`). */
  command(call: Call, cmd: CallCommand, late?: (e: { code: string; message: string }) => void): CommandError | null;
}
