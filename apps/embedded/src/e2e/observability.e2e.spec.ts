import { OtlpReceiver, startOtlpReceiver, waitFor } from '@wcp/testing';
import { randomUUID } from 'node:crypto';
import { createUser } from './api.helpers';
import { ADMIN_TOKEN, echoArtifact, startDistributedSystem, System } from './system.harness';

type LogLine = Record<string, unknown> & { app?: string; msg?: string };

/** The JSON lines of one process's whole output; anything else (a stray non-JSON line) is left out. */
function jsonLines(output: string): LogLine[] {
  return output.split('\n').flatMap((line) => {
    if (!line.startsWith('{')) return [];
    try {
      return [JSON.parse(line) as LogLine];
    } catch {
      return [];
    }
  });
}

/**
 * Logs and traces of a distributed system (three processes, Kafka + FerretDB), read from what the
 * processes actually wrote and exported: one PATCH followed by its ids through the gateway's and
 * the workload service's JSON lines; no token anywhere in the whole output of every process; and
 * one trace, through an OTLP/HTTP receiver this test runs, holding spans of both processes.
 */
describe('logs and traces (distributed)', () => {
  let system: System;
  let otlp: OtlpReceiver;

  beforeAll(async () => {
    otlp = await startOtlpReceiver();
    // debug on the services: the redaction check then covers their internal request lines too.
    const observed = { LOG_FORMAT: 'json', OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url };
    system = await startDistributedSystem({
      gateway: { ...observed, LOG_LEVEL: 'debug' },
      'workload-service': { ...observed, LOG_LEVEL: 'debug' },
      'telemetry-service': { LOG_FORMAT: 'json', LOG_LEVEL: 'debug' },
    });
  }, 180_000);

  afterAll(async () => {
    await system?.stop();
    await otlp?.close();
  });

  const logsOf = (name: string) => jsonLines(system.fullLogs()[name] ?? '');

  it('follows one PATCH by its command id through the gateway and the workload service', async () => {
    const created = await system.api.post('/api/v2/workloads', { name: 'followed', artifact: echoArtifact('followed') });
    expect(created.status).toBe(201);
    const workloadId = created.body.id as string;
    const requestId = `follow-${randomUUID()}`;
    const patched = await system.api.patch(`/api/v2/workloads/${workloadId}`, { description: 'followed' }, { 'x-request-id': requestId });
    expect(patched.status).toBe(200);
    expect(patched.headers.get('x-request-id')).toBe(requestId);

    // The request's line is written once the response is sent, so a moment after the client has it.
    let gatewayLines: LogLine[] = [];
    await waitFor(async () => (gatewayLines = logsOf('gateway').filter((l) => l.requestId === requestId)).some((l) => l.msg === 'request answered'), 'the gateway to log the request', 10_000);
    const commandLine = gatewayLines.find((l) => l.command === 'UpdateWorkload' && typeof l.commandId === 'string' && l.outcome === 'ok');
    expect(commandLine).toMatchObject({ app: 'gateway', workloadId, level: 'info' });
    expect(gatewayLines.find((l) => l.msg === 'request answered')).toMatchObject({ method: 'PATCH', route: '/api/v2/workloads/:id', status: 200 });
    const commandId = commandLine!.commandId as string;

    // The reply was awaited, but the service's line may be flushed a moment after the answer.
    let serviceLines: LogLine[] = [];
    await waitFor(async () => (serviceLines = logsOf('workload-service').filter((l) => l.commandId === commandId)).length > 0, 'the workload service to log the command', 10_000);
    expect(serviceLines.find((l) => l.context === 'CommandConsumer')).toMatchObject({ app: 'workload-service', workloadId, command: 'UpdateWorkload', requestId, outcome: 'ok' });
    // Only this command's lines carry its id.
    expect(serviceLines.every((l) => l.workloadId === workloadId)).toBe(true);
    // Both ends logged inside the same trace.
    expect(serviceLines[0].traceId).toBeDefined();
    expect(commandLine!.traceId).toBe(serviceLines[0].traceId);
  }, 120_000);

  it('replaces an X-Request-Id that is not a sane id with its own', async () => {
    const response = await system.api.get('/api/v2/workloads?limit=1', { 'x-request-id': `${'x'.repeat(200)}` });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('never writes a token or a bearer header anywhere in any process\'s output', async () => {
    // A minted token (user creation), its use for reads and commands, a refused unknown token.
    const user = await createUser(system, `redaction-${Date.now()}`);
    const created = await user.api.post('/api/v2/workloads', { name: 'redaction', artifact: echoArtifact('redaction') });
    expect(created.status).toBe(201);
    expect((await user.api.patch(`/api/v2/workloads/${created.body.id}`, { description: 'secret-free' })).status).toBe(200);
    expect((await user.api.get(`/api/v2/workloads/${created.body.id}`)).status).toBe(200);
    expect((await user.api.post(`/api/v2/workloads/${created.body.id}/stop`)).status).toBeLessThan(500);
    const unknown = `wcp_unknown_${randomUUID()}`;
    expect((await system.api.as(unknown).get('/api/v2/workloads')).status).toBe(401);
    // A refused command through the bus (404 from the aggregate), with the user's token.
    expect((await user.api.patch('/api/v2/workloads/0123456789abcdef01234567', { description: 'x' })).status).toBe(404);

    const outputs = system.fullLogs();
    expect(Object.keys(outputs).sort()).toEqual(['gateway', 'telemetry-service', 'workload-service']);
    // The check is only worth something if the output is real: lines of the requests above exist.
    expect(jsonLines(outputs.gateway).filter((l) => l.msg === 'request answered').length).toBeGreaterThan(5);
    expect(jsonLines(outputs['workload-service']).length).toBeGreaterThan(5);
    // At debug the request lines hold the headers: the Authorization header was there, and redacted.
    const withHeaders = jsonLines(outputs.gateway).filter((l) => (l.req as { headers?: Record<string, unknown> } | undefined)?.headers?.authorization !== undefined);
    expect(withHeaders.length).toBeGreaterThan(5);
    expect(new Set(withHeaders.map((l) => (l.req as { headers: Record<string, unknown> }).headers.authorization))).toEqual(new Set(['[redacted]']));
    for (const [name, output] of Object.entries(outputs)) {
      for (const secret of [ADMIN_TOKEN, user.token, unknown]) {
        expect({ name, leaks: output.includes(secret) }).toEqual({ name, leaks: false });
        expect({ name, leaks: output.includes(`Bearer ${secret}`) }).toEqual({ name, leaks: false });
      }
      expect({ name, bearer: /Bearer\s+(?!\[redacted\])\S/i.test(output) }).toEqual({ name, bearer: false });
    }
  }, 120_000);

  it('exports one trace for a PATCH, with spans of the gateway and of the workload service', async () => {
    const created = await system.api.post('/api/v2/workloads', { name: 'traced', artifact: echoArtifact('traced') });
    expect(created.status).toBe(201);
    const requestId = `trace-${randomUUID()}`;
    expect((await system.api.patch(`/api/v2/workloads/${created.body.id}`, { description: 'traced' }, { 'x-request-id': requestId })).status).toBe(200);
    const line = logsOf('gateway').find((l) => l.requestId === requestId && l.command === 'UpdateWorkload');
    const traceId = line?.traceId as string;
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);

    const names = ['PATCH /api/v2/workloads/:id', 'command UpdateWorkload', 'workload.commands.v1 publish', 'workload.commands.v1 process', 'event-store append', 'workload.command-results.v1 publish', 'workload.command-results.v1 process'];
    // Batch span processors export every 5 s.
    const inTrace = () => otlp.spans.filter((s) => s.traceId === traceId);
    await waitFor(async () => names.every((n) => inTrace().some((s) => s.name === n)), 'the trace\'s spans at the receiver', 30_000).catch(() => undefined);
    const spans = inTrace();
    expect(names.filter((n) => !spans.some((s) => s.name === n))).toEqual([]);
    const service = (name: string) => spans.find((s) => s.name === name)!.service;
    expect(service('PATCH /api/v2/workloads/:id')).toBe('gateway');
    expect(service('workload.commands.v1 publish')).toBe('gateway');
    expect(service('workload.commands.v1 process')).toBe('workload-service');
    expect(service('event-store append')).toBe('workload-service');
    expect(service('workload.command-results.v1 process')).toBe('gateway');
    // One tree: a single root (the HTTP span), every other span's parent is in the trace.
    const ids = new Set(spans.map((s) => s.spanId));
    expect(spans.filter((s) => !s.parentSpanId).map((s) => s.name)).toEqual(['PATCH /api/v2/workloads/:id']);
    expect(spans.filter((s) => s.parentSpanId && !ids.has(s.parentSpanId)).map((s) => s.name)).toEqual([]);
    const byName = (n: string) => spans.find((s) => s.name === n)!;
    expect(byName('workload.commands.v1 process').parentSpanId).toBe(byName('workload.commands.v1 publish').spanId);
    expect(byName('event-store append').parentSpanId).toBe(byName('workload.commands.v1 process').spanId);
  }, 120_000);
});
