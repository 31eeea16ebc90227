import { context, Span, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { extractTraceContext } from './propagation';
import { tracingEnabled } from './tracing';

interface TracedRequest {
  method: string;
  headers: Record<string, string | string[] | undefined>;
  routeOptions: { url?: string };
}

/** What of Fastify this needs (this package does not depend on it). */
interface HookHost {
  addHook(name: 'onRequest' | 'preValidation', hook: (request: TracedRequest, reply: unknown, done: () => void) => void): unknown;
  addHook(name: 'onResponse', hook: (request: TracedRequest, reply: { statusCode: number }, done: () => void) => void): unknown;
}

const spans = new WeakMap<object, Span>();

/**
 * A server span per request of a Fastify instance (`PATCH /api/v2/workloads/:id`), a child of the
 * caller's `traceparent` when it sent one, active from `preValidation` on (after the body is
 * read) so the handler's commands and calls are its children. Added only when tracing is on:
 * off, the hooks are not even installed.
 */
export function traceRequests(fastify: HookHost, tracerName: string): void {
  if (!tracingEnabled()) return;
  const tracer = trace.getTracer(tracerName);
  fastify.addHook('onRequest', (request, _reply, done) => {
    const route = request.routeOptions.url ?? 'unmatched';
    const parent = extractTraceContext(request.headers as Record<string, string>);
    spans.set(request, tracer.startSpan(`${request.method} ${route}`, { kind: SpanKind.SERVER, attributes: { 'http.request.method': request.method, 'http.route': route } }, parent));
    done();
  });
  fastify.addHook('preValidation', (request, _reply, done) => {
    const span = spans.get(request);
    if (span) context.with(trace.setSpan(context.active(), span), done);
    else done();
  });
  fastify.addHook('onResponse', (request, reply, done) => {
    const span = spans.get(request);
    if (span) {
      span.setAttribute('http.response.status_code', reply.statusCode);
      if (reply.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
      spans.delete(request);
    }
    done();
  });
}
