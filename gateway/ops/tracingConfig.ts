// The `tracing` config section (composed into gateway/config.ts, so checked when the configuration loads). Keys left
// unset here are filled from the standard OTEL_* environment by tracingSettings.ts; tracing is off unless an OTLP
// endpoint comes from one or the other.
import { z } from 'zod';

export const TracingConfigSchema = z.strictObject({
  enabled: z.boolean().optional().meta({
    defaultText: 'on exactly when an endpoint is set',
    description: '`false` turns tracing off even with an endpoint set; `true` without an endpoint stops start-up.',
  }),
  endpoint: z.url().optional().describe(
    'OTLP/HTTP traces URL, e.g. `http://collector:4318/v1/traces`. Unset: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, else ' +
      'OTEL_EXPORTER_OTLP_ENDPOINT with `/v1/traces` appended.',
  ),
  headers: z.record(z.string(), z.string()).default({}).describe(
    'Extra request headers for the collector, added to OTEL_EXPORTER_OTLP_HEADERS (`k=v,k2=v2`).',
  ),
  serviceName: z.string().min(1).optional().meta({
    defaultText: 'OTEL_SERVICE_NAME, else `earshot`',
    description: 'The `service.name` of the spans.',
  }),
  sampleRatio: z.number().min(0).max(1).optional().meta({
    defaultText: 'OTEL_TRACES_SAMPLER_ARG, else 1',
    description: 'Share of calls traced; a call\'s spans are all kept or all dropped, and a caller\'s sampled traceparent wins.',
  }),
});

export type TracingConfig = z.infer<typeof TracingConfigSchema>;
