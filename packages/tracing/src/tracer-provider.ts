import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, ParentBasedSampler, SimpleSpanProcessor, TraceIdRatioBasedSampler } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import type { TracingOptions } from './tracing';

/** `http://host:4318` → `http://host:4318/v1/traces`; a URL that already names the path is kept. */
export function tracesUrl(endpoint: string): string {
  const base = endpoint.replace(/\/+$/, '');
  return base.endsWith('/v1/traces') ? base : `${base}/v1/traces`;
}

/**
 * The SDK side, required only when tracing is on. `register()` installs the AsyncLocalStorage
 * context manager (the active span follows async calls) and the W3C `traceparent`/`tracestate`
 * (and baggage) propagators the bus injects into Kafka headers.
 */
export function registerProvider(options: TracingOptions): NodeTracerProvider {
  const processor = options.exporter
    ? new SimpleSpanProcessor(options.exporter)
    : // Batched: spans leave every 5 s or per 512, off the request path; at most 2048 wait.
      new BatchSpanProcessor(new OTLPTraceExporter({ url: tracesUrl(options.endpoint!) }));
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': options.serviceName }),
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(options.sampleRatio ?? 1) }),
    spanProcessors: [processor],
  });
  provider.register();
  return provider;
}
