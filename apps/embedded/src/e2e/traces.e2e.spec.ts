import { InMemorySpanExporter, ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { ApiClient, waitFor } from '@wcp/testing';
import { startTracing, Tracing } from '@wcp/tracing';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EmbeddedSystem, startEmbedded } from '../index';
import { ADMIN_TOKEN, echoArtifact } from './system.harness';

/**
 * Embedded mode in this process, with an in-memory span exporter: one PATCH is one trace from
 * the gateway's HTTP span through the command's publish on the in-process bus (the same
 * traceparent injection and extraction as Kafka), the workload service's consumer span and its
 * event-store append, to the reply's publish and its receipt by the gateway.
 */
describe('traces (embedded, in-memory exporter)', () => {
  const exporter = new InMemorySpanExporter();
  let tracing: Tracing;
  let system: EmbeddedSystem;
  let api: ApiClient;

  beforeAll(async () => {
    tracing = startTracing({ serviceName: 'embedded', exporter });
    system = await startEmbedded({ PORT: '0', DATA_DIR: mkdtempSync(join(tmpdir(), 'wcp-traces-')), BOOTSTRAP_API_TOKEN: ADMIN_TOKEN, LOG_LEVEL: 'warn', TZ: 'UTC' }, { logger: false });
    api = new ApiClient(system.url, ADMIN_TOKEN);
  }, 120_000);

  afterAll(async () => {
    await system?.close();
    await tracing?.shutdown();
  });

  it('follows one PATCH in one trace across the gateway and the workload service', async () => {
    const created = await api.post('/api/v2/workloads', { name: 'traced', artifact: echoArtifact('traced') });
    expect(created.status).toBe(201);
    exporter.reset();
    const patched = await api.patch(`/api/v2/workloads/${created.body.id}`, { description: 'traced' });
    expect(patched.status).toBe(200);

    const server = () => exporter.getFinishedSpans().find((s) => s.name === 'PATCH /api/v2/workloads/:id');
    await waitFor(async () => server() !== undefined, 'the HTTP span to end', 10_000);
    const traceId = server()!.spanContext().traceId;
    const trace = exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId);
    const byName = (name: string): ReadableSpan => {
      const span = trace.find((s) => s.name === name);
      if (!span) throw new Error(`no span ${name} in ${trace.map((s) => s.name).join(', ')}`);
      return span;
    };
    const parentOf = (name: string) => byName(name).parentSpanContext?.spanId;
    const id = (name: string) => byName(name).spanContext().spanId;

    // The chain, parent by parent.
    expect(server()!.parentSpanContext).toBeUndefined();
    expect(parentOf('command UpdateWorkload')).toBe(id('PATCH /api/v2/workloads/:id'));
    expect(parentOf('workload.commands.v1 publish')).toBe(id('command UpdateWorkload'));
    expect(parentOf('workload.commands.v1 process')).toBe(id('workload.commands.v1 publish'));
    expect(parentOf('event-store append')).toBe(id('workload.commands.v1 process'));
    expect(parentOf('workload.command-results.v1 publish')).toBe(id('workload.commands.v1 process'));
    expect(parentOf('workload.command-results.v1 process')).toBe(id('workload.command-results.v1 publish'));
    // Spans from both apps' code, named by their tracers.
    expect(byName('PATCH /api/v2/workloads/:id').instrumentationScope.name).toBe('@wcp/gateway');
    expect(byName('event-store append').instrumentationScope.name).toBe('@wcp/workload-service');
    expect(byName('event-store append').attributes).toMatchObject({ 'db.system.name': 'sqlite', 'wcp.stream.id': `workload-${created.body.id}`, 'wcp.append.outcome': 'appended' });
    expect(byName('workload.commands.v1 process').attributes).toMatchObject({ 'wcp.command.name': 'UpdateWorkload', 'messaging.destination.name': 'workload.commands.v1' });
    expect(byName('PATCH /api/v2/workloads/:id').attributes['http.response.status_code']).toBe(200);
  }, 60_000);
});
