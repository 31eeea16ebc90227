import { context, trace } from '@opentelemetry/api';
import { extractTraceContext, injectTraceHeaders, inSpan, SpanKind, tracingEnabled } from '@wcp/tracing';
import type { BusMessage, OutgoingMessage } from './message-bus';

const TRACER = '@wcp/messaging';

/**
 * Publish through `send` with the caller's trace context in every message's headers (W3C
 * `traceparent`/`tracestate`), under a producer span `<topic> publish`. Every bus calls this, so
 * every topic carries it. Tracing off, or no active span (a timer flushing request records):
 * `send` as is, nothing added — the data plane's records pay nothing.
 */
export function publishTraced(system: string, topic: string, messages: OutgoingMessage[], send: (messages: OutgoingMessage[]) => Promise<void>): Promise<void> {
  if (!tracingEnabled() || !trace.getSpan(context.active())) return send(messages);
  const attributes = { 'messaging.system': system, 'messaging.operation.type': 'send', 'messaging.destination.name': topic, 'messaging.batch.message_count': messages.length };
  return inSpan(TRACER, `${topic} publish`, { kind: SpanKind.PRODUCER, attributes }, () =>
    send(messages.map((m) => ({ ...m, headers: injectTraceHeaders(m.headers) }))),
  );
}

/**
 * Runs a consumer's work on one message under a consumer span `<topic> process` whose parent is
 * the trace context its headers carry, so what the work does (appends, replies) joins the
 * producer's trace. A message without trace headers gets no span: a consumer does not start a
 * trace of its own per message.
 */
export function processTraced<T>(message: BusMessage, attributes: Record<string, string | number>, fn: () => Promise<T>): Promise<T> {
  if (!tracingEnabled()) return fn();
  const parent = extractTraceContext(message.headers);
  if (!trace.getSpan(parent)) return fn();
  return inSpan(
    TRACER,
    `${message.topic} process`,
    { kind: SpanKind.CONSUMER, parent, attributes: { 'messaging.operation.type': 'process', 'messaging.destination.name': message.topic, 'messaging.destination.partition.id': String(message.partition), ...attributes } },
    fn,
  );
}
