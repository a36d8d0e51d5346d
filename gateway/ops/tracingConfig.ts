// Whether and where the gateway exports OpenTelemetry traces: `tracing.*` in the configuration, or the standard
// OTEL_* environment. Off unless an OTLP endpoint is given. Kept apart from tracing.ts so that a gateway without
// tracing never loads the OpenTelemetry SDK at all.
import { z } from 'zod';
import { ConfigError, type Config } from '../config.js';

const TracingSection = z.strictObject({
  /** Default: on exactly when an endpoint is configured. */
  enabled: z.boolean().optional(),
  /** OTLP/HTTP traces URL, e.g. http://collector:4318/v1/traces (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT). */
  endpoint: z.url().optional(),
  /** Extra request headers for the collector (OTEL_EXPORTER_OTLP_HEADERS, `k=v,k2=v2`). */
  headers: z.record(z.string(), z.string()).default({}),
  serviceName: z.string().min(1).default('earshot'),
  /** Share of calls traced (a call's spans are all kept or all dropped); a caller's sampled traceparent wins. */
  sampleRatio: z.number().min(0).max(1).default(1),
});

export interface TracingSettings {
  endpoint: string;
  headers: Record<string, string>;
  serviceName: string;
  sampleRatio: number;
}

/** `k=v,k2=v2`, values percent-decoded (the OTLP exporter specification's format). */
function parseHeaders(raw: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of (raw ?? '').split(',')) {
    const i = pair.indexOf('=');
    if (i > 0) out[pair.slice(0, i).trim()] = decodeURIComponent(pair.slice(i + 1).trim());
  }
  return out;
}

/** The tracing settings, or null when tracing is off (the default). Throws ConfigError on a bad `tracing` section. */
export function tracingSettings(config: Pick<Config, 'tracing'>, env: NodeJS.ProcessEnv): TracingSettings | null {
  const r = TracingSection.safeParse(config.tracing ?? {});
  if (!r.success) throw new ConfigError(`invalid configuration:\n${r.error.issues.map((i) => `  tracing.${i.path.join('.')}: ${i.message}`).join('\n')}`);
  const t = r.data;
  if (/^true$/i.test(env.OTEL_SDK_DISABLED ?? '') || env.OTEL_TRACES_EXPORTER === 'none') return null;
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT?.replace(/\/+$/, '');
  const endpoint = t.endpoint ?? (env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || (base ? `${base}/v1/traces` : undefined));
  if (t.enabled === false || !endpoint) {
    if (t.enabled === true) throw new ConfigError('tracing.enabled is true but no endpoint is set: set tracing.endpoint or OTEL_EXPORTER_OTLP_ENDPOINT');
    return null;
  }
  const ratio = env.OTEL_TRACES_SAMPLER_ARG !== undefined && config.tracing?.sampleRatio === undefined ? Number(env.OTEL_TRACES_SAMPLER_ARG) : t.sampleRatio;
  if (!(ratio >= 0 && ratio <= 1)) throw new ConfigError(`OTEL_TRACES_SAMPLER_ARG=${JSON.stringify(env.OTEL_TRACES_SAMPLER_ARG)} is not a ratio in [0, 1]`);
  return {
    endpoint,
    headers: { ...parseHeaders(env.OTEL_EXPORTER_OTLP_TRACES_HEADERS ?? env.OTEL_EXPORTER_OTLP_HEADERS), ...t.headers },
    serviceName: config.tracing?.serviceName === undefined && env.OTEL_SERVICE_NAME ? env.OTEL_SERVICE_NAME : t.serviceName,
    sampleRatio: ratio,
  };
}
