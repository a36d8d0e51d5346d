// Registers the telephony wires (Twilio, Vonage, AudioSocket, gRPC) and the HTTP control API on a gateway.
import { registerControlApi } from '../control/routes.js';
import type { Gateway } from '../Gateway.js';
import { AudioSocketPlugin } from './audiosocket.js';
import { wiresConfig } from './config.js';
import { GrpcPlugin } from './grpc.js';
import { TwilioWire } from './twilio.js';
import { VonageWire } from './vonage.js';

export { wirePorts } from './ports.js';

export function registerTelephonyWires(gw: Gateway, env: NodeJS.ProcessEnv = process.env): void {
  const cfg = wiresConfig(gw.config, env);
  registerControlApi(gw);
  const telephonyMax = gw.config.limits.maxTelephonyMessageBytes;
  gw.addWire(new TwilioWire(cfg, telephonyMax));
  gw.addWire(new VonageWire(cfg, telephonyMax));
  new AudioSocketPlugin(cfg).register(gw);
  gw.use(new GrpcPlugin(cfg));
}
