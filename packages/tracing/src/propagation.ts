import { Context, context, propagation, ROOT_CONTEXT, trace } from '@opentelemetry/api';

/**
 * `headers` plus the W3C trace context of `ctx` (`traceparent`, and `tracestate` when set):
 * what the bus adds to every message it publishes. Unchanged when no propagator is registered
 * (tracing off) or no span is active.
 */
export function injectTraceHeaders(headers: Record<string, string> | undefined, ctx: Context = context.active()): Record<string, string> | undefined {
  const carrier: Record<string, string> = { ...(headers ?? {}) };
  propagation.inject(ctx, carrier);
  return headers === undefined && Object.keys(carrier).length === 0 ? undefined : carrier;
}

/** The trace context a message's headers carry, as the parent for the consumer's span; ROOT when none. */
export function extractTraceContext(headers: Record<string, string | undefined>): Context {
  return propagation.extract(ROOT_CONTEXT, headers);
}

/** `traceId`/`spanId` of the active span for a log line; empty when tracing is off or nothing is sampled. */
export function traceLogFields(): Record<string, string> {
  const span = trace.getActiveSpan();
  if (!span) return {};
  const { traceId, spanId, traceFlags } = span.spanContext();
  // Unsampled (flags bit 0 unset): no backend will have it, so the id would only mislead.
  return traceFlags & 1 ? { traceId, spanId } : {};
}
