// Optional OpenTelemetry traces of every call: one `call` span, a `prompt` span per prompt played, a `barge_in` span
// per pause (ending when the prompt resumes or the barge-in commits) under the prompt it interrupted, and a
// `consent` span per decision (from the end of the answer to the decision). The call's log lines carry its trace
// id. Spans are made from the call's events (`call.observe`), which come a few times a second at most: nothing
// here runs per audio frame, and exporting is batched off the event loop's critical path (a bounded queue that
// drops when full, never blocks). With tracing off this module is never loaded (app.ts, tracingSettings.ts).
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Context, type Span, type Tracer } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor, ParentBasedSampler, TraceIdRatioBasedSampler, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import type { Call } from '../call/Call.js';
import type { CallEvent, EventOf } from '../call/events.js';
import type { Gateway, Plugin } from '../Gateway.js';
import type { TracingSettings } from './tracingSettings.js';

export const TRACER_NAME = 'earshot';

export interface TracingOptions {
  serviceName: string;
  sampleRatio: number;
  /** Where finished spans go (OTLP in production; tests add an in-memory exporter before the gateway starts). */
  exporters: SpanExporter[];
}

export class TracingFeature implements Plugin {
  readonly name = 'tracing';
  private provider: BasicTracerProvider | null = null;
  private tracer: Tracer | null = null;

  constructor(readonly options: TracingOptions) {}

  static otlp(s: TracingSettings): TracingFeature {
    return new TracingFeature({ serviceName: s.serviceName, sampleRatio: s.sampleRatio, exporters: [new OTLPTraceExporter({ url: s.endpoint, headers: s.headers })] });
  }

  async start(gw: Gateway): Promise<void> {
    this.provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ 'service.name': this.options.serviceName }),
      sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(this.options.sampleRatio) }),
      // The SDK's defaults: at most 2048 spans waiting, 512 per export, every 5 s; past the bound spans are dropped.
      spanProcessors: this.options.exporters.map((e) => new BatchSpanProcessor(e)),
    });
    this.tracer = this.provider.getTracer(TRACER_NAME);
    gw.log.info({ serviceName: this.options.serviceName, sampleRatio: this.options.sampleRatio, exporters: this.options.exporters.length }, 'tracing calls');
  }

  callStarted(call: Call): void {
    if (this.tracer) new CallTrace(this.tracer, call);
  }

  /** Exports every finished span now (tests; shutdown does it too). */
  async flush(): Promise<void> {
    await this.provider?.forceFlush();
  }

  async stop(): Promise<void> {
    await this.provider?.shutdown();
  }
}

const propagator = new W3CTraceContextPropagator();

/** The caller's trace, when its start message carried a W3C `traceparent` (and `tracestate`). */
function callerContext(call: Call): Context {
  const extra = call.init.extra ?? {};
  const carrier: Record<string, string> = {};
  for (const k of ['traceparent', 'tracestate']) if (typeof extra[k] === 'string') carrier[k] = extra[k] as string;
  return carrier.traceparent ? propagator.extract(ROOT_CONTEXT, carrier, { get: (c, k) => c[k], keys: (c) => Object.keys(c) }) : ROOT_CONTEXT;
}

/** One call's spans, driven by its events. */
class CallTrace {
  private readonly span: Span;
  private readonly ctx: Context;
  private prompt: { span: Span; ctx: Context } | null = null;
  private bargeIn: Span | null = null;
  private onsetT: number | null = null;

  constructor(
    private readonly tracer: Tracer,
    private readonly call: Call,
  ) {
    const { init } = call;
    // No callee number and no transcript: traces often leave for a third party's backend.
    this.span = tracer.startSpan(
      'call',
      {
        kind: SpanKind.SERVER,
        startTime: call.startedAt,
        attributes: {
          'earshot.call.id': init.callId,
          'earshot.wire': init.wire,
          'earshot.call.type': init.callType,
          'earshot.language': init.language,
          'earshot.audio.encoding': init.format.encoding,
          'earshot.audio.sample_rate': init.format.sampleRate,
        },
      },
      callerContext(call),
    );
    this.ctx = trace.setSpan(ROOT_CONTEXT, this.span);
    const sc = this.span.spanContext();
    call.log.setBindings({ trace_id: sc.traceId, span_id: sc.spanId, trace_flags: `0${sc.traceFlags.toString(16)}` });
    call.observe((ev) => this.event(ev));
  }

  private event(ev: CallEvent): void {
    switch (ev.type) {
      case 'speech_started':
        this.onsetT = ev.onsetT;
        return;
      case 'prompt_started': {
        this.endPrompt(null);
        const span = this.tracer.startSpan('prompt', { attributes: { 'earshot.prompt.id': ev.promptId } }, this.ctx);
        this.prompt = { span, ctx: trace.setSpan(ROOT_CONTEXT, span) };
        return;
      }
      case 'prompt_paused':
        this.bargeIn?.end();
        this.bargeIn = this.tracer.startSpan(
          'barge_in',
          { attributes: { 'earshot.prompt.id': ev.promptId, 'earshot.bargein.pause_t_ms': ev.t, 'earshot.bargein.played_ms': ev.playedMs, ...this.onset(ev.t, 'pause') } },
          this.prompt?.ctx ?? this.ctx,
        );
        return;
      case 'prompt_resumed':
        this.endBargeIn('resumed', { 'earshot.bargein.resume_t_ms': ev.t });
        return;
      case 'barge_in':
        this.bargeIn ??= this.tracer.startSpan('barge_in', { attributes: { 'earshot.prompt.id': ev.promptId } }, this.prompt?.ctx ?? this.ctx);
        this.onsetT = ev.onsetT;
        this.endBargeIn('committed', { 'earshot.bargein.commit_t_ms': ev.t, 'earshot.bargein.played_ms': ev.playedMs, ...this.onset(ev.t, 'commit') });
        return;
      case 'prompt_finished':
        this.endBargeIn('prompt_ended', {});
        this.endPrompt(ev);
        return;
      case 'consent':
        this.consent(ev);
        return;
      case 'error':
        this.span.addEvent('error', { 'earshot.error.code': ev.code });
        return;
      case 'call_summary':
        this.endBargeIn('call_ended', {});
        this.endPrompt(null);
        this.span.setAttributes({
          'earshot.call.end_reason': ev.reason,
          'earshot.call.inbound_ms': ev.inboundMs,
          'earshot.call.barge_ins': ev.bargeIns.length,
          'earshot.call.pauses_resumed': ev.pausesResumed,
        });
        this.span.end();
        return;
    }
  }

  /** The speech onset this decision answers, and the latency since it, in inbound-audio ms. */
  private onset(t: number, what: 'pause' | 'commit'): Record<string, number> {
    if (this.onsetT === null) return {};
    return { 'earshot.bargein.onset_t_ms': this.onsetT, [`earshot.bargein.${what}_latency_ms`]: t - this.onsetT };
  }

  private endBargeIn(outcome: string, attributes: Record<string, number>): void {
    if (!this.bargeIn) return;
    this.bargeIn.setAttributes({ ...attributes, 'earshot.bargein.outcome': outcome });
    this.bargeIn.end();
    this.bargeIn = null;
  }

  private endPrompt(ev: EventOf<'prompt_finished'> | null): void {
    if (!this.prompt) return;
    if (ev) this.prompt.span.setAttributes({ 'earshot.prompt.played_ms': ev.playedMs, 'earshot.prompt.interrupted': ev.interrupted, 'earshot.prompt.end_reason': ev.reason });
    this.prompt.span.end();
    this.prompt = null;
  }

  /** From the end of the answer (inbound time, placed on the wall clock by the call's own clock) to the decision. */
  private consent(ev: EventOf<'consent'>): void {
    const latencyMs = ev.speechEndT === null ? 0 : Math.max(0, ev.t - ev.speechEndT);
    const now = Date.now();
    const span = this.tracer.startSpan(
      'consent',
      {
        startTime: now - latencyMs,
        attributes: {
          'earshot.consent.decision': ev.decision,
          'earshot.consent.complaint': ev.complaint,
          'earshot.consent.confidence': ev.confidence,
          'earshot.consent.latency_ms': latencyMs,
          'earshot.consent.decided_t_ms': ev.t,
          ...(ev.promptId !== undefined ? { 'earshot.prompt.id': ev.promptId } : {}),
          ...(ev.speechEndT !== null ? { 'earshot.consent.speech_end_t_ms': ev.speechEndT } : {}),
          ...(ev.evidenceId ? { 'earshot.evidence.id': ev.evidenceId } : {}),
        },
      },
      this.ctx,
    );
    if (!ev.evidenceId) span.setStatus({ code: SpanStatusCode.ERROR, message: 'evidence not recorded' });
    span.end(now);
  }
}
