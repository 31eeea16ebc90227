import { context, trace } from '@opentelemetry/api';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { extractTraceContext, injectTraceHeaders, traceLogFields } from './propagation';
import { inSpan, SpanKind } from './spans';
import { startTracing, tracingEnabled } from './tracing';
import { tracesUrl } from './tracer-provider';
import { TracingEnvironment, tracingOptions } from './tracing.environment';

describe('tracing off (no endpoint)', () => {
  it('registers nothing: headers pass unchanged, spans are no-ops, logs get no ids', async () => {
    const tracing = startTracing({ serviceName: 'test' });
    expect(tracing.enabled).toBe(false);
    expect(tracingEnabled()).toBe(false);
    expect(injectTraceHeaders({ a: '1' })).toEqual({ a: '1' });
    expect(injectTraceHeaders(undefined)).toBeUndefined();
    const seen = await inSpan('t', 'work', {}, async (span) => span.isRecording());
    expect(seen).toBe(false);
    expect(traceLogFields()).toEqual({});
    expect(trace.getSpan(extractTraceContext({ traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' }))).toBeUndefined();
    await tracing.shutdown();
  });
});

describe('tracing on', () => {
  const exporter = new InMemorySpanExporter();
  let tracing: ReturnType<typeof startTracing>;
  beforeAll(() => {
    tracing = startTracing({ serviceName: 'test', exporter });
  });
  afterAll(() => tracing.shutdown());

  it('is one provider per process: a second start gets the same handle', () => {
    expect(startTracing({ serviceName: 'other', exporter: new InMemorySpanExporter() })).toBe(tracing);
    expect(tracingEnabled()).toBe(true);
  });

  it('injects the active span as W3C traceparent and extracts it as the parent on the other side', async () => {
    let headers: Record<string, string> | undefined;
    let producer = '';
    await inSpan('t', 'produce', { kind: SpanKind.PRODUCER }, async (span) => {
      producer = span.spanContext().spanId;
      headers = injectTraceHeaders({ 'x-command-id': 'c1' });
      expect(traceLogFields()).toEqual({ traceId: span.spanContext().traceId, spanId: producer });
    });
    expect(headers!['x-command-id']).toBe('c1');
    expect(headers!.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    const parent = extractTraceContext(headers!);
    await inSpan('t', 'consume', { kind: SpanKind.CONSUMER, parent }, async () => undefined);
    const [produced, consumed] = exporter.getFinishedSpans();
    expect(consumed.spanContext().traceId).toBe(produced.spanContext().traceId);
    expect(consumed.parentSpanContext?.spanId).toBe(producer);
  });

  it('records a thrown error on the span and rethrows it', async () => {
    exporter.reset();
    await expect(inSpan('t', 'fails', {}, async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    const [span] = exporter.getFinishedSpans();
    expect(span.status.code).toBe(2);
    expect(span.events.map((e) => e.name)).toEqual(['exception']);
  });

  it('follows the active span through async calls (AsyncLocalStorage context manager)', async () => {
    await inSpan('t', 'outer', {}, async (outer) => {
      await new Promise((r) => setTimeout(r, 1));
      expect(trace.getSpan(context.active())?.spanContext().spanId).toBe(outer.spanContext().spanId);
    });
  });
});

describe('tracesUrl', () => {
  it('appends the OTLP traces path to a collector base URL', () => {
    expect(tracesUrl('http://collector:4318')).toBe('http://collector:4318/v1/traces');
    expect(tracesUrl('http://collector:4318/')).toBe('http://collector:4318/v1/traces');
    expect(tracesUrl('http://collector:4318/v1/traces')).toBe('http://collector:4318/v1/traces');
  });
});

describe('TracingEnvironment', () => {
  it('is off for an unset or empty endpoint; samples everything by default', () => {
    expect(tracingOptions(TracingEnvironment.parse({}), 'gateway')).toEqual({ serviceName: 'gateway', endpoint: undefined, sampleRatio: 1 });
    expect(TracingEnvironment.parse({ OTEL_EXPORTER_OTLP_ENDPOINT: '' }).OTEL_EXPORTER_OTLP_ENDPOINT).toBeUndefined();
    expect(tracingOptions(TracingEnvironment.parse({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_SERVICE_NAME: 'gw-1', OTEL_TRACES_SAMPLER_ARG: '0.25' }), 'gateway')).toEqual({ serviceName: 'gw-1', endpoint: 'http://c:4318', sampleRatio: 0.25 });
    expect(TracingEnvironment.safeParse({ OTEL_EXPORTER_OTLP_ENDPOINT: 'not a url' }).success).toBe(false);
    expect(TracingEnvironment.safeParse({ OTEL_TRACES_SAMPLER_ARG: '2' }).success).toBe(false);
  });
});
