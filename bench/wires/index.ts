// Wire registry. Adding a wire = one file exporting a `Wire` plus its entry here.
import { asteriskWire } from './asterisk.js';
import { audiosocketWire } from './audiosocket.js';
import { exotelWire } from './exotel.js';
import { freeswitchStreamWire, freeswitchWire } from './freeswitch.js';
import { grpcWire } from './grpc.js';
import { jambonzWire } from './jambonz.js';
import { plivoWire } from './plivo.js';
import { telnyxWire } from './telnyx.js';
import { twilioWire } from './twilio.js';
import type { Wire } from './types.js';
import { wsWire } from './ws.js';

const WIRES: Record<string, Wire> = { ws: wsWire, twilio: twilioWire, audiosocket: audiosocketWire, grpc: grpcWire, jambonz: jambonzWire, freeswitch: freeswitchWire, 'freeswitch-stream': freeswitchStreamWire, asterisk: asteriskWire, exotel: exotelWire, telnyx: telnyxWire, plivo: plivoWire };
export function getWire(name: string): Wire {
  const w = WIRES[name];
  if (!w) throw new Error(`--wire ${name}: unknown wire (available: ${Object.keys(WIRES).join(', ')})`);
  return w;
}

/**
 * The string a wire's `connect` gets: the gateway's WebSocket base URL, plus, for wires that need them, where its
 * gRPC and AudioSocket servers listen (`?grpc=host:port&audiosocket=host:port`). Wires that carry no events or
 * commands themselves (Twilio, AudioSocket) use the HTTP control API and SSE at the same host and port as the
 * WebSocket URL.
 */
export function wireTarget(wsUrl: string, ports: { grpc: number | null; audiosocket: number | null }): string {
  const u = new URL(wsUrl);
  const q = new URLSearchParams();
  if (ports.grpc) q.set('grpc', `${u.hostname}:${ports.grpc}`);
  if (ports.audiosocket) q.set('audiosocket', `${u.hostname}:${ports.audiosocket}`);
  const qs = q.toString();
  return qs ? `${u.origin.replace(/^http/, 'ws')}/?${qs}` : wsUrl;
}
