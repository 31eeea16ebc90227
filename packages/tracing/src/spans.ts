import { Attributes, Context, context, INVALID_SPAN_CONTEXT, Span, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { tracingEnabled } from './tracing';

export { SpanKind } from '@opentelemetry/api';
export type { Attributes, Span } from '@opentelemetry/api';

/**
 * Runs `fn` in a new active span (a child of `parent`, default the active context) and ends it
 * when `fn` settles; a throw is recorded as the span's error and rethrown. With tracing off `fn`
 * runs as is, with a non-recording span.
 */
export function inSpan<T>(tracerName: string, name: string, options: { kind?: SpanKind; attributes?: Attributes; parent?: Context }, fn: (span: Span) => Promise<T>): Promise<T> {
  // Off: not even the no-op tracer's context switch on the command path.
  if (!tracingEnabled()) return fn(NO_SPAN);
  return trace.getTracer(tracerName).startActiveSpan(name, { kind: options.kind ?? SpanKind.INTERNAL, attributes: options.attributes }, options.parent ?? context.active(), async (span) => {
    try {
      return await fn(span);
    } catch (error) {
      failSpan(span, error);
      throw error;
    } finally {
      span.end();
    }
  });
}

const NO_SPAN = trace.wrapSpanContext(INVALID_SPAN_CONTEXT);

export function failSpan(span: Span, error: unknown): void {
  span.recordException(error instanceof Error ? error : String(error));
  span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
}
