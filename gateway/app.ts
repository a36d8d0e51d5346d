// Assembles a gateway from configuration: core, wires and the optional features. Used by main.ts and by tests.
import { loadConfig, type Config } from './config.js';
import { Gateway } from './Gateway.js';
import { NativeWire, type CallCommands } from './wires/native.js';

export async function createGateway(overrides: Record<string, unknown> = {}, env: NodeJS.ProcessEnv = process.env): Promise<Gateway> {
  const config: Config = loadConfig(env, overrides);
  const commands: CallCommands = {};
  const gw = new Gateway(config);
  gw.addWire(new NativeWire(commands));
  return gw;
}
