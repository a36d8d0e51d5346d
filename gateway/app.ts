// Assembles a gateway from configuration: core, features, wires and the HTTP control API. Used by main.ts and by
// tests.
import { loadConfig, type Config } from './config.js';
import { registerControlApi } from './control/routes.js';
import { ConsentFeature } from './features/consent.js';
import { outboundFeatures } from './features/outbound.js';
import { PromptsFeature } from './features/prompts.js';
import { Gateway } from './Gateway.js';
import { createWires } from './wires/index.js';

export async function createGateway(overrides: Record<string, unknown> = {}, env: NodeJS.ProcessEnv = process.env): Promise<Gateway> {
  const config: Config = loadConfig(env, overrides);
  const gw = new Gateway(config);
  // Features register here, each one line: plugins fill gw.commands and hook call start/admission.
  gw.use(new ConsentFeature());
  const prompts = new PromptsFeature();
  gw.use(prompts);
  for (const p of outboundFeatures({ recordings: () => prompts.library })) gw.use(p);
  for (const w of createWires(config)) gw.addWire(w);
  registerControlApi(gw);
  return gw;
}
