// Calls this instance does not hold: in a fleet, another instance may hold the call's media, and the control API and
// event streams of every instance must still reach it. The contract only names what it needs; gateway/fleet/
// provides it (a call directory in the shared database, and forwarding to the holder). A single gateway has none.
import type { IncomingMessage, ServerResponse } from 'node:http';

/** Where a call is, when another instance holds it or refused it at start. */
export type RemoteCall =
  | { state: 'live'; callId: string; instanceId: string; address: string }
  | { state: 'rejected'; callId: string; instanceId: string; reason: string };

export interface RemoteCalls {
  /** A request another instance forwarded here: it is answered here, never forwarded again. */
  isForwarded(req: IncomingMessage): boolean;
  /** The call's holder or its refusal elsewhere in the fleet, or null. */
  locate(callId: string): Promise<RemoteCall | null>;
  /** Waits up to `timeoutMs` for the call to start or be refused on another instance; null on timeout or cancel. */
  awaitRemote(callId: string, timeoutMs: number): { result: Promise<RemoteCall | null>; cancel: () => void };
  /**
   * Sends the request to the holder and relays its answer (streamed). Rejects before answering anything when the
   * holder cannot be reached.
   */
  forward(req: IncomingMessage, res: ServerResponse, holder: { address: string }, o: { path: string; body?: Buffer; kind: 'command' | 'events' }): Promise<void>;
}
