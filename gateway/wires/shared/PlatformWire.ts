// What the telephony platform wires of issue #16 have in common as a `Wire`: a WebSocket path, their own
// authentication (the platform cannot send the gateway's bearer header), the telephony frame cap, and the options
// of their MediaStream.
import type { IncomingMessage } from 'node:http';
import type { WebSocket } from 'ws';
import type { Wire, WireContext } from '../../call/wire.js';
import type { WiresConfig } from '../config.js';
import type { MediaStreamOptions } from './MediaStream.js';

export abstract class PlatformWire implements Wire {
  abstract readonly name: string;
  abstract readonly path: string;
  readonly selfAuth = true;

  /** `maxPayload`: limits.maxTelephonyMessageBytes — 20–100 ms of audio and small JSON, read before authentication. */
  constructor(
    protected readonly cfg: WiresConfig,
    readonly maxPayload: number,
  ) {}

  abstract connect(ws: WebSocket, req: IncomingMessage, ctx: WireContext): void;

  /** The stream's options; `startWhat` names the platform's first message for the start-timeout error. */
  protected streamOptions(startWhat: string): MediaStreamOptions {
    return { wire: this.name, startWhat, markEveryFrames: this.cfg.twilioMarkEveryFrames, selfAuth: true };
  }
}
