// Assembles a gateway from configuration: core, wires and the optional features. Used by main.ts and by tests.
import { loadConfig, type Config } from './config.js';
import { Gateway } from './Gateway.js';
import { NativeWire } from './wires/native.js';

export async function createGateway(overrides: Record<string, unknown> = {}, env: NodeJS.ProcessEnv = process.env): Promise<Gateway> {
  const config: Config = loadConfig(env, overrides);
  const gw = new Gateway(config);
  gw.addWire(new NativeWire());
  // Features register here, each one line: plugins fill gw.commands and hook call start/admission.
  return gw;
}
