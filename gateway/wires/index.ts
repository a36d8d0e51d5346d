// Every wire the gateway serves, one line each. A wire is one file in this folder that translates its platform's
// protocol into the call contract (gateway/call/: start, commands, events, admission); pieces several wires share
// are in ./shared. A wire imports neither another wire nor a feature (test/architecture.test.ts).
import type { Wire } from '../call/wire.js';
import type { Config } from '../config.js';
import { AudioSocketWire } from './audiosocket.js';
import { GrpcWire } from './grpc.js';
import { NativeWire } from './native.js';
import { TwilioWire } from './twilio.js';
import { VonageWire } from './vonage.js';

export function createWires(config: Config): Wire[] {
  const cfg = config.wires;
  const telephonyMax = config.limits.maxTelephonyMessageBytes;
  return [
    new NativeWire(), //                       /v1/stream
    new TwilioWire(cfg, telephonyMax), //      /v1/twilio
    new VonageWire(cfg, telephonyMax), //      /v1/vonage
    new AudioSocketWire(cfg), //               TCP wires.audiosocketPort
    new GrpcWire(cfg), //                      wires.grpcPort
  ];
}

/** Where the wires with their own listeners ended up (port 0 in tests = ephemeral). */
export function wirePorts(gw: { wirePort(name: string): number | undefined }): { audiosocket?: number; grpc?: number } {
  return { audiosocket: gw.wirePort('audiosocket'), grpc: gw.wirePort('grpc') };
}
