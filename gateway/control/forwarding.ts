// A call this instance does not hold may be held by another instance of the fleet: the control API and event
// streams find it in the call directory (gw.remote, gateway/fleet/) and relay the request there.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RemoteCall } from '../call/remote.js';
import type { WireContext } from '../call/wire.js';
import { HttpError } from '../ops/http.js';

/** The holder of a call this instance does not have, when a fleet has one (never for a forwarded request). */
export async function remoteHolder(gw: WireContext, req: IncomingMessage, id: string): Promise<RemoteCall | null> {
  if (!gw.remote || gw.remote.isForwarded(req)) return null;
  try {
    return await gw.remote.locate(id);
  } catch (e) {
    throw new HttpError(503, 'directory_unavailable', `the call directory cannot be read: ${(e as Error).message}`);
  }
}

/** Relays the request to the instance that holds the call; its answer (status, body, stream) goes back as it is. */
export async function forwardTo(gw: WireContext, req: IncomingMessage, res: ServerResponse, holder: { address: string }, o: { path: string; body?: Buffer; kind: 'command' | 'events' }): Promise<void> {
  try {
    await gw.remote!.forward(req, res, holder, o);
  } catch (e) {
    throw new HttpError(502, 'instance_unreachable', `the instance holding the call cannot be reached: ${(e as Error).message}`);
  }
}
