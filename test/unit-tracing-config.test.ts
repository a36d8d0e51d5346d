// When tracing is on and where it exports: the `tracing` section of the configuration, with what it leaves unset
// taken from the OTEL_* environment; off by default.
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../gateway/config.js';
import { tracingSettings } from '../gateway/ops/tracingSettings.js';

const on = (tracing: Record<string, unknown>, env: NodeJS.ProcessEnv = {}) => tracingSettings(loadConfig({}, { tracing }), env);

describe('tracing settings', () => {
  it('are off without an endpoint, whatever else is set', () => {
    expect(on({})).toBeNull();
    expect(on({ serviceName: 'x', sampleRatio: 0.5 })).toBeNull();
    expect(on({}, { OTEL_SERVICE_NAME: 'dialer' })).toBeNull();
  });

  it('OTEL_EXPORTER_OTLP_ENDPOINT is a base URL: /v1/traces is appended; the traces endpoint is used as it is', () => {
    expect(on({}, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' })?.endpoint).toBe('http://collector:4318/v1/traces');
    expect(on({}, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:4318', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://b:4318/custom' })?.endpoint).toBe('http://b:4318/custom');
  });

  it('the configuration wins over the environment, and defaults name the service earshot and sample every call', () => {
    expect(on({ endpoint: 'http://c:4318/v1/traces' }, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:4318' })).toEqual({
      endpoint: 'http://c:4318/v1/traces',
      headers: {},
      serviceName: 'earshot',
      sampleRatio: 1,
    });
    expect(on({ endpoint: 'http://c:4318/v1/traces', serviceName: 'gw' }, { OTEL_SERVICE_NAME: 'env' })?.serviceName).toBe('gw');
    expect(on({ endpoint: 'http://c:4318/v1/traces', sampleRatio: 0.5 }, { OTEL_TRACES_SAMPLER_ARG: '0.25' })?.sampleRatio).toBe(0.5);
    expect(on({ endpoint: 'http://c:4318/v1/traces' }, { OTEL_SERVICE_NAME: 'env', OTEL_TRACES_SAMPLER_ARG: '0.25' })).toMatchObject({ serviceName: 'env', sampleRatio: 0.25 });
  });

  it('headers come from OTEL_EXPORTER_OTLP_HEADERS (k=v, percent-decoded) and the configuration', () => {
    const s = on({ headers: { 'x-team': 'voice' } }, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:4318', OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer%20abc, x-tenant = t1' });
    expect(s?.headers).toEqual({ authorization: 'Bearer abc', 'x-tenant': 't1', 'x-team': 'voice' });
  });

  it('can be switched off with an endpoint set: enabled false, OTEL_SDK_DISABLED, OTEL_TRACES_EXPORTER=none', () => {
    const env = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:4318' };
    expect(on({}, env)).not.toBeNull();
    expect(on({ enabled: false }, env)).toBeNull();
    expect(on({}, { ...env, OTEL_SDK_DISABLED: 'true' })).toBeNull();
    expect(on({}, { ...env, OTEL_TRACES_EXPORTER: 'none' })).toBeNull();
  });

  it('a bad section or a switch-on without an endpoint stops start-up naming the key', () => {
    expect(() => on({ enabled: true })).toThrow(ConfigError);
    expect(() => on({ enabled: true })).toThrow(/tracing\.endpoint/);
    expect(() => on({ endpoint: 'not a url' })).toThrow(/tracing\.endpoint/);
    expect(() => on({ sampleRatio: 2 })).toThrow(/tracing\.sampleRatio/);
    expect(() => on({ exporter: 'zipkin' })).toThrow(/tracing/);
    expect(() => on({ endpoint: 'http://c:4318/v1/traces' }, { OTEL_TRACES_SAMPLER_ARG: 'half' })).toThrow(/OTEL_TRACES_SAMPLER_ARG/);
  });
});
