// The registration side of a telephony WebSocket wire built on MediaStream: its path, the telephony message cap,
// and authentication by the wire itself (the platform cannot send a bearer header). A wire names itself and says
// how a new socket becomes its stream.
import type { IncomingMessage } from 'node:http';
import type { WebSocket } from 'ws';
import type { Wire, WireContext } from '../../call/wire.js';
import type { WiresConfig } from '../config.js';

export abstract class StreamWire implements Wire {
  abstract readonly name: string;
  abstract readonly path: string;
  readonly selfAuth = true;

  /** `maxPayload`: limits.maxTelephonyMessageBytes — these platforms send 20 ms of audio and small JSON a message. */
  constructor(
    protected readonly cfg: WiresConfig,
    readonly maxPayload: number,
  ) {}

  abstract connect(ws: WebSocket, req: IncomingMessage, ctx: WireContext): void;
}
