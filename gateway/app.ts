// Assembles a gateway from configuration: core, features, wires and the HTTP control API. Used by main.ts and by
// tests.
import { loadConfig, type Config } from './config.js';
import { registerControlApi } from './control/routes.js';
import { ConsentFeature } from './features/consent.js';
import { InterruptionFeature } from './features/interruption.js';
import { outboundFeatures } from './features/outbound.js';
import { MonitorFeature } from './features/monitor.js';
import { PolicyFeature } from './features/policy.js';
import { PromptsFeature } from './features/prompts.js';
import { WebhooksFeature } from './features/webhooks.js';
import { FleetFeature } from './fleet/FleetFeature.js';
import { Gateway } from './Gateway.js';
import { applyHeapGrowth } from './ops/heapGrowth.js';
import { registerOpenApi } from './ops/openapi.js';
import { tracingSettings } from './ops/tracingSettings.js';
import { applyWorkerOldSpace } from './ops/workerHeap.js';
import { WebhookAnnouncer } from './webhooks/Announcer.js';
import { createWires } from './wires/index.js';

export async function createGateway(overrides: Record<string, unknown> = {}, env: NodeJS.ProcessEnv = process.env): Promise<Gateway> {
  const config: Config = loadConfig(env, overrides);
  // V8's heap settings, in one place and before any worker starts: V8 reads a worker's first old-generation limit
  // when it creates that worker's heap (ops/workerHeap.ts), the growing factor at every collection (ops/heapGrowth.ts).
  applyHeapGrowth(config.ops.heapGrowingPercent);
  applyWorkerOldSpace(config.ops.workerOldSpaceMb);
  const gw = new Gateway(config);
  // Tracing first, so that the other features' lines about a call carry its trace id. Off: the SDK is never loaded.
  const tracing = tracingSettings(config, env);
  if (tracing) gw.use((await import('./ops/tracing.js')).TracingFeature.otlp(tracing));
  // Features register here, each one line: plugins fill gw.commands and hook call start/admission.
  gw.use(new FleetFeature()); // first: a call id live elsewhere in the fleet is refused before any other admission
  // Webhook rows are written by the features that record what they announce, in the same transactions.
  const announcer = new WebhookAnnouncer();
  const consent = new ConsentFeature({ announcer });
  gw.use(consent);
  gw.use(new InterruptionFeature(consent)); // shares consent's recogniser pool
  const prompts = new PromptsFeature();
  gw.use(prompts);
  const outbound = outboundFeatures({ recordings: () => prompts.library, announcer });
  for (const p of outbound) gw.use(p);
  const policy = outbound.find((p): p is PolicyFeature => p instanceof PolicyFeature);
  gw.use(new WebhooksFeature({ dnc: () => policy?.policy?.dnc, announcer }));
  gw.use(new MonitorFeature({ evidence: () => consent.evidence }));
  for (const w of createWires(config)) gw.addWire(w);
  registerControlApi(gw);
  registerOpenApi(gw.router, gw.log);
  return gw;
}
