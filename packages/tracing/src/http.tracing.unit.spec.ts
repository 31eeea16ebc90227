import { trace } from '@opentelemetry/api';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import Fastify from 'fastify';
import { traceRequests } from './http.tracing';
import { startTracing, Tracing } from './tracing';

describe('server spans over Fastify', () => {
  const exporter = new InMemorySpanExporter();
  let tracing: Tracing;
  const app = Fastify();

  beforeAll(async () => {
    tracing = startTracing({ serviceName: 'test', exporter });
    traceRequests(app, 'test');
    // After the body is read and an await: the request's span must still be the active one.
    app.post('/items/:id', async (request) => {
      await new Promise((r) => setTimeout(r, 1));
      return { active: trace.getActiveSpan()?.spanContext().spanId, body: request.body };
    });
    await app.ready();
  });
  afterAll(async () => {
    await app.close();
    await tracing.shutdown();
  });

  it('makes the route template the span, active in the handler, a child of the caller\'s traceparent', async () => {
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const response = await app.inject({ method: 'POST', url: '/items/42', headers: { traceparent }, payload: { a: 1 } });
    expect(response.statusCode).toBe(200);
    const [span] = exporter.getFinishedSpans();
    expect(span.name).toBe('POST /items/:id');
    expect(span.spanContext().traceId).toBe('0af7651916cd43dd8448eb211c80319c');
    expect(span.parentSpanContext?.spanId).toBe('b7ad6b7169203331');
    expect(span.attributes).toMatchObject({ 'http.request.method': 'POST', 'http.route': '/items/:id', 'http.response.status_code': 200 });
    expect(response.json()).toEqual({ active: span.spanContext().spanId, body: { a: 1 } });
  });

  it('installs nothing when tracing is off', async () => {
    await tracing.shutdown();
    const hooks: string[] = [];
    traceRequests({ addHook: (name: string) => hooks.push(name) } as never, 'test');
    expect(hooks).toEqual([]);
  });
});
