import 'reflect-metadata';
import { CommandEnvelope, CommandOutcome, CommandResult, Topics } from '@wcp/contracts';
import { BusMessage, InProcessBus, ok } from '@wcp/messaging';
import { createServer, Server } from 'node:http';
import { createGateway, GatewayHandle, loadConfig } from '../index';

const W = 'a1a1a1a1a1a1a1a1a1a1a1a1';
const ARTIFACT = 'b2b2b2b2b2b2b2b2b2b2b2b2';
const AUTH = { authorization: 'Bearer test-token' };
const PUBLIC = 'https://api.example.test';
const runtime = { containerGroups: [{ name: 'default', replicaCount: 2, autoscaling: null, resourceBundles: [], containers: [] }] };
const replacement = (id: string, status = 'submitted') => ({ id, workloadId: W, status, strategy: 'rolling' });

const listen = (server: Server) => new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)));

/**
 * The replacement routes over HTTP through a real gateway: a fake workload service (queries),
 * a fake telemetry service (stats reset) and a fake command handler on the in-process bus that
 * answers each command with the outcome the test queued for it.
 */
describe('settings, replacement, history and promote routes', () => {
  const bus = new InProcessBus();
  /** Commands as received; checked by the tests, never inside the bus handler. */
  const commands: CommandEnvelope[] = [];
  const outcomes = new Map<string, CommandOutcome>();
  const internalCalls: Array<{ service: string; method: string; url: string; body: unknown }> = [];
  let workloadService: Server;
  let telemetryService: Server;
  let gateway: GatewayHandle;

  const fake = (service: string, answer: (method: string, url: URL) => [number, unknown]) =>
    createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const url = new URL(req.url ?? '/', 'http://local');
        const text = Buffer.concat(chunks).toString();
        if (url.pathname !== '/internal/auth/resolve' && !url.pathname.endsWith('/access')) internalCalls.push({ service, method: req.method ?? '', url: url.pathname + url.search, body: text ? JSON.parse(text) : undefined });
        const [status, body] = answer(req.method ?? '', url);
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      });
    });

  beforeAll(async () => {
    workloadService = fake('workload', (method, url) => {
      if (method === 'POST' && url.pathname === '/internal/auth/resolve') return [200, { id: 'aaaaaaaaaaaaaaaaaaaaaaaa', username: 't', isAdmin: false, groupIds: [], orgId: null }];
      if (url.pathname === `/internal/workloads/${W}/access`) return [200, { workloadId: W, grants: { aaaaaaaaaaaaaaaaaaaaaaaa: 'OWNER' } }];
      if (url.pathname === `/internal/workloads/${W}/settings`) return [200, { runtime, replacement: null }];
      if (url.pathname === `/internal/workloads/${W}/replacement`) return [404, { code: 'REPLACEMENT_NOT_FOUND', kind: 'not_found', message: 'There is no active replacement for this workload.' }];
      if (url.pathname === `/internal/workloads/${W}/history`) return [200, { totalCount: 3, data: [replacement('r3', 'completed'), replacement('r2', 'canceled')] }];
      return [404, { code: 'WORKLOAD_NOT_FOUND', kind: 'not_found', message: 'Workload was not found.' }];
    });
    telemetryService = fake('telemetry', () => [200, { ok: true }]);
    const [wsPort, tsPort] = [await listen(workloadService), await listen(telemetryService)];

    await bus.subscribe({
      topic: Topics.commands,
      groupId: 'fake-workload-service',
      fromBeginning: true,
      handleBatch: async (messages: BusMessage[]) => {
        for (const m of messages) {
          const envelope = m.value as CommandEnvelope;
          commands.push(envelope);
          const outcome = outcomes.get(envelope.command.name) ?? { ok: false, error: { code: 'UNEXPECTED', kind: 'bad_gateway', message: `no outcome queued for ${envelope.command.name}` } };
          const result: CommandResult = { type: 'command-result', schemaVersion: 1, commandId: envelope.commandId, correlationId: envelope.correlationId, duplicate: false, outcome };
          await bus.publish(Topics.commandResults, [{ key: envelope.correlationId, value: result }]);
        }
        return messages.map(() => ok);
      },
    });

    const config = loadConfig({ PORT: '0', PUBLIC_BASE_URL: PUBLIC, COMMAND_TIMEOUT_MS: '5000' });
    gateway = await createGateway({ config, bus, workloadServiceUrl: `http://127.0.0.1:${wsPort}`, telemetryServiceUrl: `http://127.0.0.1:${tsPort}`, logger: false });
  });

  afterAll(async () => {
    await gateway?.close();
    await bus.close();
    await new Promise((r) => workloadService?.close(r));
    await new Promise((r) => telemetryService?.close(r));
  });

  beforeEach(() => {
    commands.length = 0;
    internalCalls.length = 0;
    outcomes.clear();
  });

  async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
    const response = await fetch(`${gateway.url}/api/v2${path}`, {
      method,
      headers: { ...AUTH, ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : null };
  }

  const succeed = (name: string, value: unknown) => outcomes.set(name, { ok: true, value });
  const refuse = (name: string, kind: 'bad_request' | 'not_found' | 'conflict' | 'validation' | 'forbidden', message: string) =>
    outcomes.set(name, { ok: false, error: { code: 'REFUSED', kind, message, ...(kind === 'validation' ? { loc: ['body', 'artifactId'] } : {}) } });

  it('GET /settings passes the service answer through; unknown query keys and malformed ids are refused', async () => {
    await expect(call('GET', `/workloads/${W}/settings`)).resolves.toEqual({ status: 200, body: { runtime, replacement: null } });
    await expect(call('GET', `/workloads/${W}/settings/`)).resolves.toMatchObject({ status: 200 });
    const extra = await call('GET', `/workloads/${W}/settings?x=1`);
    expect(extra).toMatchObject({ status: 422, body: { detail: [{ loc: ['query', 'x'], type: 'extra_forbidden' }] } });
    expect((await call('GET', '/workloads/nope/settings')).status).toBe(404);
    expect(internalCalls.map((c) => c.url)).toEqual([`/internal/workloads/${W}/settings`, `/internal/workloads/${W}/settings`]);
  });

  it('PATCH /settings answers 202 with a started replacement, 200 with the settings when nothing changed', async () => {
    succeed('UpdateSettings', { kind: 'replacement', replacement: replacement('r1') });
    await expect(call('PATCH', `/workloads/${W}/settings`, { runtime: { containerGroups: [{ replicaCount: 2 }] } })).resolves.toEqual({ status: 202, body: replacement('r1') });
    succeed('UpdateSettings', { kind: 'unchanged', settings: { runtime, replacement: null } });
    await expect(call('PATCH', `/workloads/${W}/settings`, { runtime })).resolves.toEqual({ status: 200, body: { runtime, replacement: null } });
    expect(commands.map((c) => c.command)).toEqual([
      { name: 'UpdateSettings', workloadId: W, replacementId: expect.stringMatching(/^[0-9a-f]{24}$/), candidateProtonId: expect.stringMatching(/^[0-9a-f]{24}$/), input: { runtime: expect.any(Object) } },
      expect.objectContaining({ name: 'UpdateSettings' }),
    ]);
    expect(commands[0].key).toBe(W);
  });

  it('validates bodies before sending anything: 422 with body locations, 400 for malformed JSON', async () => {
    const missing = await call('PATCH', `/workloads/${W}/settings`, {});
    expect(missing).toMatchObject({ status: 422, body: { detail: [{ loc: ['body', 'runtime'], type: 'missing' }] } });
    const canary = await call('POST', `/workloads/${W}/replacement`, { artifactId: ARTIFACT, strategy: 'canary' });
    expect(canary).toMatchObject({ status: 422, body: { detail: [{ loc: ['body', 'config', 'canarySteps'] }] } });
    const extra = await call('POST', `/workloads/${W}/replacement/resume`, { now: true });
    expect(extra).toMatchObject({ status: 422, body: { detail: [{ loc: ['body', 'now'], type: 'extra_forbidden' }] } });
    const malformed = await fetch(`${gateway.url}/api/v2/workloads/${W}/replacement`, { method: 'POST', headers: { ...AUTH, 'content-type': 'application/json' }, body: '{"artifactId":' });
    expect(malformed.status).toBe(400);
    expect(commands).toEqual([]);
  });

  it('POST /replacement answers 202; the same Idempotency-Key names the same command and ids, another key new ones', async () => {
    succeed('StartReplacement', replacement('r1'));
    const body = { artifactId: ARTIFACT, strategy: 'canary', config: { canarySteps: [{ trafficPercent: 10, pauseMinutes: null }] } };
    for (const key of ['k-1', 'k-1', 'k-2']) await expect(call('POST', `/workloads/${W}/replacement`, body, { 'idempotency-key': key })).resolves.toEqual({ status: 202, body: replacement('r1') });
    await call('POST', `/workloads/${W}/replacement`, body);
    const [first, again, other, keyless] = commands;
    expect(again.commandId).toBe(first.commandId);
    expect(again.command).toEqual(first.command);
    expect(other.commandId).not.toBe(first.commandId);
    expect(keyless.commandId).not.toBe(first.commandId);
    const ids = (c: CommandEnvelope) => (c.command.name === 'StartReplacement' ? [c.command.replacementId, c.command.candidateProtonId] : []);
    expect(new Set([...ids(first), ...ids(other), ...ids(keyless)]).size).toBe(6);
    expect(first.command).toMatchObject({ name: 'StartReplacement', workloadId: W, input: { artifactId: ARTIFACT, strategy: 'canary', config: { canarySteps: [{ trafficPercent: 10, pauseMinutes: null }] } } });
  });

  it.each([
    ['bad_request', 400],
    ['not_found', 404],
    ['conflict', 409],
    ['forbidden', 403],
  ] as const)('maps a %s refusal of the workload service to %i with its detail', async (kind, status) => {
    refuse('StartReplacement', kind, `refused as ${kind}`);
    await expect(call('POST', `/workloads/${W}/replacement`, { artifactId: ARTIFACT })).resolves.toEqual({ status, body: { detail: `refused as ${kind}` } });
  });

  it('maps a validation refusal to 422 in the validation shape', async () => {
    refuse('PromoteArtifact', 'validation', 'The artifact is not a draft.');
    const res = await call('POST', `/workloads/${W}/promote`);
    expect(res).toEqual({ status: 422, body: { detail: [{ loc: ['body', 'artifactId'], msg: 'The artifact is not a draft.', type: 'value_error' }] } });
    expect(internalCalls.filter((c) => c.service === 'telemetry')).toEqual([]);
  });

  it('GET /replacement passes the 404 detail of the service through', async () => {
    await expect(call('GET', `/workloads/${W}/replacement`)).resolves.toEqual({ status: 404, body: { detail: 'There is no active replacement for this workload.' } });
  });

  it('DELETE /replacement and POST /replacement/resume answer 202 with the replacement; resume takes no body or {}', async () => {
    succeed('CancelReplacement', replacement('r1', 'canceling'));
    await expect(call('DELETE', `/workloads/${W}/replacement`)).resolves.toEqual({ status: 202, body: replacement('r1', 'canceling') });
    succeed('ResumeReplacement', replacement('r1', 'promoting'));
    await expect(call('POST', `/workloads/${W}/replacement/resume`)).resolves.toEqual({ status: 202, body: replacement('r1', 'promoting') });
    await expect(call('POST', `/workloads/${W}/replacement/resume`, {})).resolves.toMatchObject({ status: 202 });
    refuse('ResumeReplacement', 'conflict', 'The replacement is not paused.');
    await expect(call('POST', `/workloads/${W}/replacement/resume`)).resolves.toEqual({ status: 409, body: { detail: 'The replacement is not paused.' } });
    expect(commands.map((c) => c.command)).toEqual([
      { name: 'CancelReplacement', workloadId: W },
      { name: 'ResumeReplacement', workloadId: W },
      { name: 'ResumeReplacement', workloadId: W },
      { name: 'ResumeReplacement', workloadId: W },
    ]);
  });

  it('GET /history pages like events: offset/limit forwarded, envelope with absolute links', async () => {
    const res = await call('GET', `/workloads/${W}/history?limit=2`);
    expect(res).toEqual({
      status: 200,
      body: { totalCount: 3, count: 2, next: `${PUBLIC}/api/v2/workloads/${W}/history?limit=2&offset=2`, previous: null, data: [replacement('r3', 'completed'), replacement('r2', 'canceled')] },
    });
    expect(internalCalls.map((c) => c.url)).toEqual([`/internal/workloads/${W}/history?offset=0&limit=2`]);
    expect((await call('GET', `/workloads/${W}/history?limit=101`)).status).toBe(422);
  });

  it('POST /promote answers 202 with the workload (absolute endpoint) after resetting stats at the promotion instant', async () => {
    const resetAt = '2026-11-28T10:00:00.000Z';
    succeed('PromoteArtifact', { workload: { id: W, endpoint: `/api/v2/endpoints/workloads/${W}/`, artifact: { status: 'locked', version: 1 } }, resetAt });
    const res = await call('POST', `/workloads/${W}/promote`, {});
    expect(res).toEqual({ status: 202, body: { id: W, endpoint: `${PUBLIC}/api/v2/endpoints/workloads/${W}/`, artifact: { status: 'locked', version: 1 } } });
    expect(commands.map((c) => c.command)).toEqual([{ name: 'PromoteArtifact', workloadId: W }]);
    expect(internalCalls).toEqual([{ service: 'telemetry', method: 'POST', url: `/internal/workloads/${W}/stats/reset`, body: { resetAt } }]);
  });
});
