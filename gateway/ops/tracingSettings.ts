// Whether and where the gateway exports OpenTelemetry traces: the validated `tracing` section, with what it leaves
// unset taken from the standard OTEL_* environment. Kept apart from tracing.ts so that a gateway without tracing
// never loads the OpenTelemetry SDK at all.
import { ConfigError, type Config } from '../config.js';

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

/** The tracing settings, or null when tracing is off (the default). Throws ConfigError on contradictory settings. */
export function tracingSettings(config: Pick<Config, 'tracing'>, env: NodeJS.ProcessEnv): TracingSettings | null {
  const t = config.tracing;
  if (/^true$/i.test(env.OTEL_SDK_DISABLED ?? '') || env.OTEL_TRACES_EXPORTER === 'none') return null;
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT?.replace(/\/+$/, '');
  const endpoint = t.endpoint ?? (env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || (base ? `${base}/v1/traces` : undefined));
  if (t.enabled === false || !endpoint) {
    if (t.enabled === true) throw new ConfigError('tracing.enabled is true but no endpoint is set: set tracing.endpoint or OTEL_EXPORTER_OTLP_ENDPOINT');
    return null;
  }
  const ratio = t.sampleRatio ?? (env.OTEL_TRACES_SAMPLER_ARG !== undefined ? Number(env.OTEL_TRACES_SAMPLER_ARG) : 1);
  if (!(ratio >= 0 && ratio <= 1)) throw new ConfigError(`OTEL_TRACES_SAMPLER_ARG=${JSON.stringify(env.OTEL_TRACES_SAMPLER_ARG)} is not a ratio in [0, 1]`);
  return {
    endpoint,
    headers: { ...parseHeaders(env.OTEL_EXPORTER_OTLP_TRACES_HEADERS ?? env.OTEL_EXPORTER_OTLP_HEADERS), ...t.headers },
    serviceName: t.serviceName ?? (env.OTEL_SERVICE_NAME || 'earshot'),
    sampleRatio: ratio,
  };
}
