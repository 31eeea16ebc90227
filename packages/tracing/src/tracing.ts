import { context, propagation, trace } from '@opentelemetry/api';
import type { SpanExporter } from '@opentelemetry/sdk-trace-base';

export interface TracingOptions {
  /** `service.name` of every span: gateway, workload-service, telemetry-service, embedded. */
  serviceName: string;
  /** OTLP/HTTP collector base URL (`http://collector:4318`); spans go to `<it>/v1/traces`. */
  endpoint?: string;
  /** Share of new traces kept (0–1); a span whose parent was sampled is always kept (parent-based). */
  sampleRatio?: number;
  /** Tests: spans go to this exporter, one by one (a simple processor), instead of OTLP. */
  exporter?: SpanExporter;
}

export interface Tracing {
  enabled: boolean;
  /** Flushes the spans still batched, then unregisters the provider; once, however often called. */
  shutdown(): Promise<void>;
}

const disabled: Tracing = { enabled: false, shutdown: async () => undefined };
let active: Tracing | null = null;

/** True once a provider is registered: the bus and the HTTP hooks skip all span work otherwise. */
export function tracingEnabled(): boolean {
  return active !== null;
}

/**
 * Registers the process's tracer provider, once (embedded mode runs three apps in one process:
 * the first call wins, later ones get the same handle). Without an endpoint or an exporter
 * nothing is registered: the API's no-op tracer answers every span call, and no SDK module is
 * even loaded.
 */
export function startTracing(options: TracingOptions): Tracing {
  if (active) return active;
  if (!options.endpoint && !options.exporter) return disabled;
  // Loaded only when tracing is on, so a process without it pays nothing at start either.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { registerProvider } = require('./tracer-provider') as typeof import('./tracer-provider');
  const provider = registerProvider(options);
  let closed: Promise<void> | null = null;
  const handle: Tracing = {
    enabled: true,
    shutdown: () => (closed ??= close()),
  };
  const close = async () => {
    await provider.shutdown();
    trace.disable();
    context.disable();
    propagation.disable();
    if (active === handle) active = null;
  };
  active = handle;
  return handle;
}
