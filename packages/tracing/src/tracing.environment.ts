import { z } from 'zod';

/** The tracing variables every app's config.ts spreads into its schema (OpenTelemetry's names). */
export const TracingEnvironment = z.object({
  // Empty counts as unset: compose passes `${OTEL_EXPORTER_OTLP_ENDPOINT:-}`.
  OTEL_EXPORTER_OTLP_ENDPOINT: z.union([z.literal(''), z.url()]).optional().transform((v) => v || undefined).describe('OTLP/HTTP collector (Jaeger, the OpenTelemetry Collector) base URL, e.g. `http://collector:4318`; spans go to `<it>/v1/traces`. Unset or empty: tracing is off (no provider, no-op tracer).'),
  OTEL_SERVICE_NAME: z.string().min(1).optional().describe('`service.name` of this process\'s spans; default the app\'s name (`embedded` for `npm start`).'),
  OTEL_TRACES_SAMPLER_ARG: z.coerce.number().min(0).max(1).default(1).describe('Share of new traces sampled, 0–1 (parent-based: a request whose caller sampled it is always traced).'),
});
export type TracingEnvironment = z.output<typeof TracingEnvironment>;

/** The options of `startTracing` from a parsed config. */
export function tracingOptions(config: TracingEnvironment, app: string): { serviceName: string; endpoint?: string; sampleRatio: number } {
  return { serviceName: config.OTEL_SERVICE_NAME ?? app, endpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT, sampleRatio: config.OTEL_TRACES_SAMPLER_ARG };
}
