import * as http from 'node:http';
import { ApiClient, waitFor } from '@wcp/testing';
import {
  ACTIVE_STATUSES,
  adminUser,
  createUser,
  EVENT_TYPES,
  expectError,
  expectValidationError,
  ID,
  listAll,
  OWNER_PERMISSIONS,
  rawRequest,
  settledEvents,
  stopAndWait,
  TestUser,
  TIME,
  waitForStatus,
} from './api.helpers';
import { replicaProcesses } from './replica-processes';
import { ADMIN_TOKEN, echoArtifact, startDistributedSystem, startEmbeddedSystem, System } from './system.harness';

/**
 * The control-plane contract of API.md §1–§3 (artifacts, workloads, start/stop, events, related,
 * identity, error contract) driven over HTTP, in both ways to run. One system per mode; a low
 * rate limit and a low per-owner quota are set so 429 and the start limit can be reached.
 *
 * Creating a workload deploys it (real replica processes), and the quota counts every user's
 * running or starting workloads: a test that needs a workload only as a resource stops it at once
 * (`createParked`, `createStopped`), and after each test whatever still runs is stopped, so every
 * test starts with the whole quota free and no status in flux.
 */
const RATE_LIMIT_PER_MINUTE = 1000;
const MAX_ACTIVE = 2;
const NO_SUCH_ID = 'aaaaaaaaaaaaaaaaaaaaaaaa';

describe.each([
  ['embedded', () => startEmbeddedSystem({ RATE_LIMIT_PER_MINUTE: String(RATE_LIMIT_PER_MINUTE), MAX_ACTIVE_WORKLOADS_PER_OWNER: String(MAX_ACTIVE) })],
  [
    'distributed (Kafka + FerretDB, three processes)',
    () =>
      startDistributedSystem({
        gateway: { RATE_LIMIT_PER_MINUTE: String(RATE_LIMIT_PER_MINUTE) },
        'workload-service': { MAX_ACTIVE_WORKLOADS_PER_OWNER: String(MAX_ACTIVE) },
      }),
  ],
])('API contract — %s', (_mode, start) => {
  let system: System;
  let api: ApiClient;
  let admin: { id: string; username: string };
  let alice: TestUser;
  let bob: TestUser;
  const tokens: string[] = [];

  /** Creates (which deploys) and leaves it starting; returns the 201 body. */
  const createDeployed = async (client: ApiClient, body: Record<string, unknown>) => {
    const created = await client.post('/api/v2/workloads', { artifact: echoArtifact(), ...body });
    if (created.status !== 201) throw new Error(`create workload: ${created.status} ${JSON.stringify(created.body)}`);
    return created.body;
  };
  /**
   * A workload needed only as a resource: created, and its stop requested at once (a stopping
   * workload no longer counts against the limit); returns the 201 body. `afterEach` waits for it.
   */
  const createParked = async (client: ApiClient, body: Record<string, unknown>) => {
    const w = await createDeployed(client, body);
    const stop = await client.post(`/api/v2/workloads/${w.id}/stop`);
    if (stop.status !== 202) throw new Error(`stop ${w.id}: ${stop.status} ${JSON.stringify(stop.body)}`);
    return w;
  };
  /** Created and stopped, for a test that needs it at rest; returns it as stopped. */
  const createStopped = async (client: ApiClient, body: Record<string, unknown>) => stopAndWait(client, (await createDeployed(client, body)).id);
  const createArtifact = async (client: ApiClient, name: string) => {
    const created = await client.post('/api/v2/artifacts', echoArtifact(name));
    if (created.status !== 201) throw new Error(`create artifact: ${created.status} ${JSON.stringify(created.body)}`);
    return created.body;
  };

  beforeAll(async () => {
    system = await start();
    api = system.api;
    admin = await adminUser(system);
    alice = await createUser(system, 'alice', { fullName: 'Alice A.' });
    bob = await createUser(system, 'bob');
    tokens.push(alice.token, bob.token);
  }, 180_000);

  afterAll(async () => {
    await system?.stop();
  });

  const ACTIVE_OR_STOPPING = [...ACTIVE_STATUSES, 'stopping'].join(',');
  /** Workloads an earlier test was failed for because they never stopped: reported once, not by every later test. */
  const neverStopped = new Set<string>();
  afterEach(async () => {
    // Nothing a test deployed outlives it (an admin sees every workload).
    const moving = async () => (await listAll(api, `/api/v2/workloads?status=${ACTIVE_OR_STOPPING}`)).filter((w) => !neverStopped.has(w.id));
    const started = await moving();
    for (const w of started) if (w.status !== 'stopping') await api.post(`/api/v2/workloads/${w.id}/stop`);
    if (started.length === 0) return;
    try {
      await waitFor(async () => (await moving()).length === 0, 'every workload to stop', 30_000, 50);
    } catch {
      const left = await moving();
      const histories = [];
      for (const w of left) {
        neverStopped.add(w.id);
        const events = (await api.get(`/api/v2/workloads/${w.id}/events?limit=100`)).body.data.reverse();
        histories.push(`${w.name} (${w.id}) ${w.status}: ${events.map((e: any) => (e.eventType === 'Status Changed' ? `→ ${e.details.to}` : e.eventType)).join(', ')}`);
      }
      const logs = system.logs().split('\n').filter((l) => /WARN|ERROR|Saga/.test(l) || left.some((w) => l.includes(w.id) || l.includes(w.protonId)));
      throw new Error(`not stopped 30 s after the test:\n${histories.join('\n')}\n--- system log lines about it:\n${logs.slice(-40).join('\n')}`);
    }
  });

  describe('conventions', () => {
    it('serves health without a token, with or without a trailing slash', async () => {
      for (const path of ['/api/v2/health', '/api/v2/health/']) {
        const health = await rawRequest(system.baseUrl, 'GET', path);
        expect(health.status).toBe(200);
        expect(health.body).toEqual({ status: 'ok', components: expect.any(Object) });
      }
    });

    it('answers 401 {detail} without a token, with an unknown token and with a non-bearer header', async () => {
      const anonymous = new ApiClient(system.baseUrl);
      const w = await createParked(api, { name: 'auth-target' });
      const routes: Array<[string, string, unknown?]> = [
        ['GET', '/api/v2/workloads'],
        ['POST', '/api/v2/workloads', { name: 'x', artifact: echoArtifact() }],
        ['GET', `/api/v2/workloads/${w.id}`],
        ['PATCH', `/api/v2/workloads/${w.id}`, { name: 'x' }],
        ['DELETE', `/api/v2/workloads/${w.id}`],
        ['POST', `/api/v2/workloads/${w.id}/start`],
        ['POST', `/api/v2/workloads/${w.id}/stop`],
        ['GET', `/api/v2/workloads/${w.id}/events`],
        ['GET', `/api/v2/workloads/${w.id}/related`],
        ['GET', '/api/v2/artifacts'],
        ['POST', '/api/v2/artifacts', echoArtifact()],
        ['GET', '/api/v2/admin/users'],
        ['POST', '/api/v2/admin/users', { username: 'mallory' }],
        ['POST', '/api/v2/admin/groups', { name: 'g' }],
        ['GET', '/api/v2/version'],
      ];
      for (const [method, path, body] of routes) {
        expectError(await anonymous.request(method, path, body), 401);
        expectError(await anonymous.as('not-a-known-token-0000000000').request(method, path, body), 401);
        expectError(await anonymous.request(method, path, body, { authorization: `Basic ${ADMIN_TOKEN}` }), 401);
      }
      // Nothing above happened.
      expect((await api.get(`/api/v2/workloads/${w.id}`)).body.name).toBe('auth-target');
    });

    it('serves the OpenAPI document', async () => {
      const doc = await api.get('/api/v2/openapi.json');
      expect(doc.status).toBe(200);
      expect(doc.body).toMatchObject({ openapi: expect.stringMatching(/^3\./), paths: expect.any(Object) });
    });

    it('requires a token for the OpenAPI document (only health is public)', async () => {
      const anonymous = await new ApiClient(system.baseUrl).get('/api/v2/openapi.json');
      expect({ status: anonymous.status, detail: typeof anonymous.body?.detail }).toEqual({ status: 401, detail: 'string' });
    });

    it('serves the version to a valid token only (clients verify their credentials with it)', async () => {
      for (const path of ['/api/v2/version/', '/api/v2/version']) {
        const version = await api.get(path);
        expect({ path, status: version.status }).toEqual({ path, status: 200 });
        expect(version.body).toEqual({ major: expect.any(Number), minor: expect.any(Number), versionString: expect.any(String), releasedVersion: expect.any(String) });
        expect(version.body.versionString.startsWith(`${version.body.major}.${version.body.minor}`)).toBe(true);
        for (const token of [undefined, 'not-a-known-token-0000000000']) expectError(await rawRequest(system.baseUrl, 'GET', path, token), 401);
      }
    });

    it('answers every route with a trailing slash too, without a redirect', async () => {
      const artifact = await createArtifact(api, 'slash');
      const w = await createStopped(api, { name: 'slash' });
      for (const path of [
        '/api/v2/workloads',
        `/api/v2/workloads/${w.id}`,
        `/api/v2/workloads/${w.id}/events`,
        `/api/v2/workloads/${w.id}/related`,
        '/api/v2/artifacts',
        `/api/v2/artifacts/${artifact.id}`,
        '/api/v2/admin/users',
        '/api/v2/version',
      ]) {
        const plain = await rawRequest(system.baseUrl, 'GET', path, ADMIN_TOKEN);
        const slashed = await rawRequest(system.baseUrl, 'GET', `${path}/`, ADMIN_TOKEN);
        expect({ path, status: slashed.status }).toEqual({ path, status: 200 });
        expect(slashed.headers.get('location')).toBeNull();
        // Page links repeat the request's own path, so only the data is compared for lists.
        expect(slashed.body.data ?? slashed.body).toEqual(plain.body.data ?? plain.body);
      }
      const created = await rawRequest(system.baseUrl, 'POST', '/api/v2/workloads/', ADMIN_TOKEN, { name: 'slash-post', artifact: echoArtifact() });
      expect(created.status).toBe(201);
      const patched = await rawRequest(system.baseUrl, 'PATCH', `/api/v2/workloads/${created.body.id}/`, ADMIN_TOKEN, { description: 'd' });
      expect({ status: patched.status, description: patched.body.description }).toEqual({ status: 200, description: 'd' });
      // Created means deployed: the stop is accepted (202), not a no-op.
      expect((await rawRequest(system.baseUrl, 'POST', `/api/v2/workloads/${created.body.id}/stop/`, ADMIN_TOKEN)).status).toBe(202);
      expect((await rawRequest(system.baseUrl, 'DELETE', `/api/v2/workloads/${created.body.id}/`, ADMIN_TOKEN)).status).toBe(204);
      expect((await rawRequest(system.baseUrl, 'DELETE', `/api/v2/artifacts/${artifact.id}/`, ADMIN_TOKEN)).status).toBe(204);
      expect((await rawRequest(system.baseUrl, 'POST', '/api/v2/artifacts/', ADMIN_TOKEN, echoArtifact('slash-post'))).status).toBe(201);
    });

    it('rejects unknown query parameters with 422 extra_forbidden on every route', async () => {
      const w = await createStopped(api, { name: 'query-target' });
      const artifact = await createArtifact(api, 'query-target');
      const cases: Array<[string, string, unknown?]> = [
        ['GET', '/api/v2/workloads?bogus=1'],
        ['POST', '/api/v2/workloads?bogus=1', { name: 'q', artifact: echoArtifact() }],
        ['GET', `/api/v2/workloads/${w.id}?bogus=1`],
        ['PATCH', `/api/v2/workloads/${w.id}?bogus=1`, { name: 'q' }],
        ['POST', `/api/v2/workloads/${w.id}/start?bogus=1`],
        ['POST', `/api/v2/workloads/${w.id}/stop?bogus=1`],
        ['DELETE', `/api/v2/workloads/${w.id}?bogus=1`],
        ['GET', `/api/v2/workloads/${w.id}/events?bogus=1`],
        ['GET', `/api/v2/workloads/${w.id}/related?bogus=1`],
        ['GET', '/api/v2/artifacts?bogus=1'],
        ['POST', '/api/v2/artifacts?bogus=1', echoArtifact()],
        ['GET', `/api/v2/artifacts/${artifact.id}?bogus=1`],
        ['PATCH', `/api/v2/artifacts/${artifact.id}?bogus=1`, { name: 'q' }],
        ['DELETE', `/api/v2/artifacts/${artifact.id}?bogus=1`],
        ['GET', '/api/v2/admin/users?bogus=1'],
        ['POST', '/api/v2/admin/users?bogus=1', { username: 'query-user' }],
        ['POST', '/api/v2/admin/groups?bogus=1', { name: 'query-group' }],
        ['GET', '/api/v2/version?bogus=1'],
      ];
      for (const [method, path, body] of cases) {
        const response = await api.request(method, path, body);
        expect({ method, path, status: response.status }).toEqual({ method, path, status: 422 });
        expectValidationError(response, { loc: ['query', 'bogus'], type: 'extra_forbidden' });
      }
      // None of them acted (the workload was stopped: a start that got through would show).
      expect((await api.get(`/api/v2/workloads/${w.id}`)).body).toMatchObject({ name: 'query-target', status: 'stopped' });
      expect(await listAll(api, '/api/v2/workloads?search=q')).not.toContainEqual(expect.objectContaining({ name: 'q' }));
      expect((await api.get(`/api/v2/artifacts/${artifact.id}`)).status).toBe(200);
      // Events accept only offset/limit.
      expectValidationError(await api.get(`/api/v2/workloads/${w.id}/events?orderBy=timestamp`), { loc: ['query', 'orderBy'], type: 'extra_forbidden' });
    });

    it('keeps limit within 1..100 and offset ≥ 0 on every list (else 422)', async () => {
      const w = await createParked(api, { name: 'paging-target' });
      for (const list of ['/api/v2/workloads', '/api/v2/artifacts', `/api/v2/workloads/${w.id}/events`, '/api/v2/admin/users']) {
        for (const limit of ['0', '101', '-1', 'ten', '1.5']) {
          expectValidationError(await api.get(`${list}?limit=${limit}`), { loc: ['query', 'limit'] });
        }
        for (const offset of ['-1', 'x']) expectValidationError(await api.get(`${list}?offset=${offset}`), { loc: ['query', 'offset'] });
        for (const limit of ['1', '100']) {
          const page = await api.get(`${list}?limit=${limit}`);
          expect({ list, limit, status: page.status }).toEqual({ list, limit, status: 200 });
          const more = page.body.totalCount > page.body.data.length;
          expect(page.body).toEqual({ totalCount: expect.any(Number), count: page.body.data.length, next: more ? expect.any(String) : null, previous: null, data: expect.any(Array) });
          expect(page.body.count).toBeLessThanOrEqual(Number(limit));
        }
      }
    });

    it('answers 400 {detail} to malformed JSON', async () => {
      const w = await createParked(api, { name: 'json-target' });
      for (const [method, path] of [
        ['POST', '/api/v2/workloads'],
        ['PATCH', `/api/v2/workloads/${w.id}`],
        ['POST', '/api/v2/artifacts'],
        ['POST', '/api/v2/admin/users'],
      ]) {
        expectError(await api.request(method, path, '{"name": "x",', { 'content-type': 'application/json' }), 400);
      }
    });

    it('answers 413 {detail} to a body over 1 MiB, and accepts one just under', async () => {
      const big = { name: 'big', artifact: echoArtifact(), description: 'x'.repeat(1024 * 1024 + 10) };
      expectError(await api.post('/api/v2/workloads', big), 413);
      expectError(await api.post('/api/v2/artifacts', { ...echoArtifact(), description: 'x'.repeat(1024 * 1024 + 10) }), 413);
      // Just under the limit the body is read and judged on its content (description ≤ 4096 → 422).
      expect((await api.post('/api/v2/workloads', { ...big, description: 'x'.repeat(1000 * 1000) })).status).toBe(422);
    });

    it('reads and drops a refused body that is not much over the limit: the caller gets its 413, the connection serves the next request', async () => {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      const send = (method: string, path: string, body?: string) =>
        new Promise<{ status: number; body: string; socket: unknown }>((resolve, reject) => {
          const req = http.request(`${api.baseUrl}${path}`, { method, agent, headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(body ? { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) } : {}) } }, (res) => {
            let text = '';
            res.on('data', (c) => (text += c)).on('end', () => resolve({ status: res.statusCode ?? 0, body: text, socket: req.socket }));
          });
          req.on('error', reject);
          req.end(body);
        });
      try {
        const refused = await send('POST', '/api/v2/workloads', JSON.stringify({ name: 'big', description: 'x'.repeat(2 * 1024 * 1024) }));
        expect(refused.status).toBe(413);
        expect(JSON.parse(refused.body).detail).toEqual(expect.any(String));
        const next = await send('GET', '/api/v2/workloads?limit=1');
        expect(next.status).toBe(200);
        expect(next.socket).toBe(refused.socket);
      } finally {
        agent.destroy();
      }
    });

    it('rejects unknown body fields, at any depth, with loc/msg/type', async () => {
      const nested = echoArtifact('nested') as any;
      nested.spec.containerGroups[0].containers[0].bogus = true;
      expectValidationError(await api.post('/api/v2/workloads', { name: 'n', artifact: nested }), {
        loc: ['body', 'artifact', 'spec', 'containerGroups', 0, 'containers', 0, 'bogus'],
        type: 'extra_forbidden',
      });
      expectValidationError(await api.post('/api/v2/artifacts', { ...echoArtifact(), extra: 1 }), { loc: ['body', 'extra'], type: 'extra_forbidden' });
      expectValidationError(await api.post('/api/v2/admin/users', { username: 'u-extra', isAdmin: true }), { loc: ['body', 'isAdmin'], type: 'extra_forbidden' });
      expectValidationError(await api.post('/api/v2/admin/groups', { name: 'g-extra', members: [] }), { loc: ['body', 'members'], type: 'extra_forbidden' });
    });

    it('answers unknown paths and non-ObjectId ids with 404 {detail}', async () => {
      expectError(await api.get('/api/v2/nothing-here'), 404);
      expectError(await api.get('/api/v2/workloads/not-an-id'), 404);
      expectError(await api.get(`/api/v2/workloads/${NO_SUCH_ID.toUpperCase()}`), 404);
      expectError(await api.get('/api/v2/artifacts/not-an-id'), 404);
    });

    it('speaks camelCase keys, 24-hex ids and RFC 3339 UTC millisecond times', async () => {
      const w = await createDeployed(api, { name: 'shape', tags: [{ name: 'k', value: 'v' }] });
      const keys = (value: unknown): string[] =>
        value && typeof value === 'object' ? Object.entries(value).flatMap(([k, v]) => [...(Array.isArray(value) ? [] : [k]), ...keys(v)]) : [];
      for (const key of keys(w)) expect(key).toMatch(/^[a-z][A-Za-z0-9]*$/);
      expect(w.id).toMatch(ID);
      expect(w.artifactId).toMatch(ID);
      expect(w.protonId).toMatch(ID);
      expect(w.creator.id).toMatch(ID);
      expect(w.createdAt).toMatch(TIME);
      expect(w.updatedAt).toMatch(TIME);
    });
  });

  describe('identity (admin users and groups)', () => {
    it('creates users with a one-time token and lists them, admins only', async () => {
      const org = await api.post('/api/v2/admin/orgs', { name: 'org-1' });
      expect(org.status).toBe(201);
      const created = await api.post('/api/v2/admin/users', { username: 'carla', fullName: 'Carla C.', orgId: org.body.id });
      expect(created.status).toBe(201);
      expect(created.body).toEqual({ id: expect.stringMatching(ID), username: 'carla', apiToken: expect.any(String) });
      tokens.push(created.body.apiToken);
      const carla = api.as(created.body.apiToken);
      const own = await carla.get('/api/v2/workloads');
      expect(own.status).toBe(200);
      expect(own.body).toMatchObject({ totalCount: 0, count: 0, data: [] });

      const users = await listAll(api, '/api/v2/admin/users');
      const usernames = users.map((u) => u.username);
      expect(usernames).toEqual(expect.arrayContaining(['admin', 'alice', 'bob', 'carla']));
      expect(users.find((u) => u.username === 'carla')).toMatchObject({ id: created.body.id, username: 'carla' });
      for (const u of users) {
        expect(u.id).toMatch(ID);
        expect(u).not.toHaveProperty('apiToken');
        expect(JSON.stringify(u)).not.toContain(created.body.apiToken);
      }

      expectError(await alice.api.post('/api/v2/admin/users', { username: 'by-alice' }), 403);
      expectError(await alice.api.get('/api/v2/admin/users'), 403);
      expectError(await carla.post('/api/v2/admin/groups', { name: 'by-carla' }), 403);
      expect((await listAll(api, '/api/v2/admin/users')).map((u) => u.username)).not.toContain('by-alice');
    });

    it('pages the user list with absolute next/previous links', async () => {
      const first = await api.get('/api/v2/admin/users?limit=1');
      expect(first.status).toBe(200);
      expect(first.body.count).toBe(1);
      expect(first.body.totalCount).toBeGreaterThanOrEqual(3);
      expect(first.body.previous).toBeNull();
      expect(first.body.next).toBe(`${system.baseUrl}/api/v2/admin/users?limit=1&offset=1`);
      const second = await api.get('/api/v2/admin/users?limit=1&offset=1');
      expect(second.body.previous).toBe(`${system.baseUrl}/api/v2/admin/users?limit=1&offset=0`);
      expect(second.body.data[0].id).not.toBe(first.body.data[0].id);
    });

    it('creates groups and users in them', async () => {
      const group = await api.post('/api/v2/admin/groups', { name: 'ml-team' });
      expect(group.status).toBe(201);
      expect(group.body).toEqual({ id: expect.stringMatching(ID), name: 'ml-team' });
      const member = await api.post('/api/v2/admin/users', { username: 'gina', groupIds: [group.body.id] });
      expect(member.status).toBe(201);
      tokens.push(member.body.apiToken);
    });

    it('validates user and group bodies', async () => {
      expectValidationError(await api.post('/api/v2/admin/users', {}), { loc: ['body', 'username'], type: 'missing' });
      expectValidationError(await api.post('/api/v2/admin/users', { username: '' }), { loc: ['body', 'username'] });
      expectValidationError(await api.post('/api/v2/admin/users', { username: 'x', groupIds: ['nope'] }), { loc: ['body', 'groupIds', 0] });
      expectValidationError(await api.post('/api/v2/admin/groups', {}), { loc: ['body', 'name'], type: 'missing' });
    });

    it('never logs API tokens', async () => {
      const logs = system.logs();
      for (const token of [ADMIN_TOKEN, ...tokens]) expect(logs).not.toContain(token);
    });
  });

  describe('artifacts', () => {
    it('creates a draft artifact and reads it back', async () => {
      const input = {
        name: 'full',
        description: 'an artifact',
        artifactRepositoryId: 'repo-1',
        spec: {
          containerGroups: [
            {
              name: 'default',
              containers: [
                {
                  name: 'main',
                  primary: true,
                  imageUri: 'local/echo-model:1',
                  port: 8000,
                  entrypoint: [],
                  environmentVars: [{ name: 'MODE', value: 'fast' }],
                  readinessProbe: { path: '/healthz', port: 8000, initialDelaySeconds: 1, periodSeconds: 2, timeoutSeconds: 1, failureThreshold: 3, successThreshold: 1 },
                },
              ],
            },
          ],
        },
      };
      const created = await alice.api.post('/api/v2/artifacts', input);
      expect(created.status).toBe(201);
      const a = created.body;
      expect(a).toMatchObject({
        id: expect.stringMatching(ID),
        name: 'full',
        description: 'an artifact',
        type: 'service',
        status: 'draft',
        version: null,
        artifactRepositoryId: 'repo-1',
        spec: input.spec,
        creator: { id: alice.id, username: 'alice' },
        permissions: expect.any(Array),
      });
      expect(a.createdAt).toMatch(TIME);
      expect(a.updatedAt).toMatch(TIME);
      const read = await alice.api.get(`/api/v2/artifacts/${a.id}`);
      expect(read.status).toBe(200);
      expect(read.body).toEqual(a);

      const minimal = await createArtifact(alice.api, 'minimal');
      expect(minimal).toMatchObject({ status: 'draft', version: null, type: 'service', description: null });
      expect(minimal.spec.containerGroups[0].containers[0]).toMatchObject({ name: 'main', primary: true, imageUri: 'local/echo-model:1', port: 8000, entrypoint: [], environmentVars: [] });
    });

    it('shows artifacts to their creator and admins only', async () => {
      const mine = await createArtifact(alice.api, 'private');
      expectError(await bob.api.get(`/api/v2/artifacts/${mine.id}`), 404);
      expectError(await bob.api.patch(`/api/v2/artifacts/${mine.id}`, { status: 'locked' }), 404);
      expectError(await bob.api.delete(`/api/v2/artifacts/${mine.id}`), 404);
      expectError(await bob.api.post('/api/v2/workloads', { name: 'steal', artifactId: mine.id }), 404);
      expect((await listAll(bob.api, '/api/v2/artifacts')).map((a) => a.id)).not.toContain(mine.id);
      expect((await api.get(`/api/v2/artifacts/${mine.id}`)).status).toBe(200);
      expect((await listAll(api, '/api/v2/artifacts')).map((a) => a.id)).toContain(mine.id);
      const aliceList = await listAll(alice.api, '/api/v2/artifacts');
      expect(aliceList.map((a) => a.id)).toContain(mine.id);
      for (const a of aliceList) expect(a.creator.id).toBe(alice.id);
      // Still a draft: bob's PATCH did nothing.
      expect((await alice.api.get(`/api/v2/artifacts/${mine.id}`)).body.status).toBe('draft');
    });

    it('locks with PATCH {status:"locked"}, numbering versions per name from 1', async () => {
      const v1 = await createArtifact(bob.api, 'versioned');
      const v2 = await createArtifact(bob.api, 'versioned');
      const other = await createArtifact(bob.api, 'other-name');
      const locked1 = await bob.api.patch(`/api/v2/artifacts/${v1.id}`, { status: 'locked' });
      expect(locked1.status).toBe(200);
      expect(locked1.body).toMatchObject({ id: v1.id, status: 'locked', version: 1, name: 'versioned' });
      const locked2 = await bob.api.patch(`/api/v2/artifacts/${v2.id}`, { status: 'locked' });
      expect(locked2.body).toMatchObject({ status: 'locked', version: 2 });
      const lockedOther = await bob.api.patch(`/api/v2/artifacts/${other.id}`, { status: 'locked' });
      expect(lockedOther.body).toMatchObject({ status: 'locked', version: 1 });
      expect((await bob.api.get(`/api/v2/artifacts/${v1.id}`)).body).toMatchObject({ status: 'locked', version: 1 });

      const drafts = await listAll(bob.api, '/api/v2/artifacts?status=draft');
      const locked = await listAll(bob.api, '/api/v2/artifacts?status=locked');
      const both = await listAll(bob.api, '/api/v2/artifacts?status=draft,locked');
      const repeated = await listAll(bob.api, '/api/v2/artifacts?status=draft&status=locked');
      expect(drafts.every((a) => a.status === 'draft')).toBe(true);
      expect(locked.map((a) => a.id)).toEqual(expect.arrayContaining([v1.id, v2.id, other.id]));
      expect(locked.every((a) => a.status === 'locked' && Number.isInteger(a.version))).toBe(true);
      expect(both.length).toBe(drafts.length + locked.length);
      expect(repeated.map((a) => a.id)).toEqual(both.map((a) => a.id));
      expectValidationError(await bob.api.get('/api/v2/artifacts?status=frozen'), { loc: ['query', 'status', 0] });
    });

    it('deletes an unused draft (204), refuses a locked or used one (409)', async () => {
      const unused = await createArtifact(alice.api, 'to-delete');
      const deleted = await alice.api.delete(`/api/v2/artifacts/${unused.id}`);
      expect(deleted.status).toBe(204);
      expect(deleted.body).toBeNull();
      expectError(await alice.api.get(`/api/v2/artifacts/${unused.id}`), 404);
      expectError(await alice.api.delete(`/api/v2/artifacts/${unused.id}`), 404);

      const locked = await createArtifact(alice.api, 'to-lock');
      await alice.api.patch(`/api/v2/artifacts/${locked.id}`, { status: 'locked' });
      expectError(await alice.api.delete(`/api/v2/artifacts/${locked.id}`), 409);
      expect((await alice.api.get(`/api/v2/artifacts/${locked.id}`)).status).toBe(200);

      const used = await createArtifact(alice.api, 'in-use');
      const w = await createParked(alice.api, { name: 'user-of-draft', artifact: undefined, artifactId: used.id });
      expectError(await alice.api.delete(`/api/v2/artifacts/${used.id}`), 409);
      expect((await alice.api.delete(`/api/v2/workloads/${w.id}`)).status).toBe(204);
      expect((await alice.api.delete(`/api/v2/artifacts/${used.id}`)).status).toBe(204);
    });

    it('validates artifact bodies', async () => {
      const base = echoArtifact('bad') as any;
      expectValidationError(await api.post('/api/v2/artifacts', { name: 'no-spec' }), { loc: ['body', 'spec'], type: 'missing' });
      expectValidationError(await api.post('/api/v2/artifacts', { ...base, name: '' }), { loc: ['body', 'name'] });
      const lowPort = structuredClone(base);
      lowPort.spec.containerGroups[0].containers[0].port = 80;
      expectValidationError(await api.post('/api/v2/artifacts', lowPort), { loc: ['body', 'spec', 'containerGroups', 0, 'containers', 0, 'port'] });
      const twoPrimaries = structuredClone(base);
      twoPrimaries.spec.containerGroups[0].containers.push({ name: 'side', primary: true, imageUri: 'local/echo-model:1', port: 8001 });
      expectValidationError(await api.post('/api/v2/artifacts', twoPrimaries));
      const noPrimary = structuredClone(base);
      noPrimary.spec.containerGroups[0].containers[0].primary = false;
      expectValidationError(await api.post('/api/v2/artifacts', noPrimary));
      expectValidationError(await api.patch(`/api/v2/artifacts/${NO_SUCH_ID}`, { status: 'locked', bogus: 1 }), { loc: ['body', 'bogus'], type: 'extra_forbidden' });
      expectError(await api.patch(`/api/v2/artifacts/${NO_SUCH_ID}`, { status: 'locked' }), 404);
      expectError(await api.get(`/api/v2/artifacts/${NO_SUCH_ID}`), 404);
    });

    it('refuses images outside the local image catalog', async () => {
      const foreign = echoArtifact('foreign') as any;
      foreign.spec.containerGroups[0].containers[0].imageUri = 'docker.io/library/busybox:latest';
      expectValidationError(await api.post('/api/v2/artifacts', foreign), { loc: ['body', 'spec', 'containerGroups', 0, 'containers', 0, 'imageUri'] });
      expectValidationError(await api.post('/api/v2/workloads', { name: 'foreign', artifact: foreign }), {
        loc: ['body', 'artifact', 'spec', 'containerGroups', 0, 'containers', 0, 'imageUri'],
      });
    });
  });

  describe('workloads', () => {
    it('creates from an inline artifact with the documented defaults', async () => {
      const created = await alice.api.post('/api/v2/workloads', { name: 'alice-one', artifact: echoArtifact('alice-art') });
      expect(created.status).toBe(201);
      const w = created.body;
      expect(w).toEqual({
        id: expect.stringMatching(ID),
        name: 'alice-one',
        description: null,
        createdAt: expect.stringMatching(TIME),
        updatedAt: expect.stringMatching(TIME),
        creator: expect.objectContaining({ id: alice.id, username: 'alice' }),
        owners: [expect.objectContaining({ id: alice.id, username: 'alice' })],
        permissions: expect.arrayContaining(OWNER_PERMISSIONS),
        status: 'submitted',
        importance: 'low',
        type: 'service',
        artifactId: expect.stringMatching(ID),
        artifact: { id: w.artifactId, name: 'alice-art', status: 'draft', type: 'service', version: null, artifactRepositoryId: null },
        protonId: expect.stringMatching(ID),
        endpoint: `${system.baseUrl}/api/v2/endpoints/workloads/${w.id}/`,
        runtime: { containerGroups: [{ name: 'default', replicaCount: 1, autoscaling: null, resourceBundles: [], containers: [{ name: 'main', resourceAllocation: { cpu: 1, memory: 536870912, gpu: null } }] }] },
        replacement: null,
        requestStats: null,
        lastResponse: null,
        tags: [],
      });
      // The inline artifact exists on its own, owned by the creator, as a draft.
      expect((await alice.api.get(`/api/v2/artifacts/${w.artifactId}`)).body).toMatchObject({ name: 'alice-art', status: 'draft', creator: { id: alice.id } });
      // Read back it is the same workload on its way up: only status and updatedAt move.
      const read = (await alice.api.get(`/api/v2/workloads/${w.id}`)).body;
      expect(read).toEqual({ ...w, status: expect.any(String), updatedAt: expect.stringMatching(TIME) });
      expect(ACTIVE_STATUSES).toContain(read.status);
    });

    it('deploys on create: 201 submitted with a proton, then running and answering through the data plane', async () => {
      const created = await alice.api.post('/api/v2/workloads', { name: 'deployed', artifact: echoArtifact('deployed-art') });
      expect(created.status).toBe(201);
      const w = created.body;
      expect(w).toMatchObject({ status: 'submitted', protonId: expect.stringMatching(ID) });
      const running = await waitForStatus(alice.api, w.id, 'running');
      expect(running.protonId).toBe(w.protonId);
      expect((await alice.api.get(`/api/v2/workloads/${w.id}/protons`)).body.data).toEqual([expect.objectContaining({ id: w.protonId, role: 'active', status: 'running' })]);
      expect(replicaProcesses(w.protonId)).toHaveLength(1);
      const answer = await alice.api.post(`/api/v2/endpoints/workloads/${w.id}/predict?x=1`, { input: 1 });
      expect(answer.status).toBe(200);
      expect(answer.body).toMatchObject({ ok: true, path: '/predict', body: { input: 1 } });
      // A start of a running workload is a no-op.
      const start = await alice.api.post(`/api/v2/workloads/${w.id}/start`);
      expect(start.status).toBe(200);
      expect((await alice.api.get(`/api/v2/workloads/${w.id}`)).body).toMatchObject({ status: 'running', protonId: w.protonId });
      // The history: one start, in the create's commit and by its creator, then the runtime's way up
      // (a step the runtime passes quickly may not be reported on its own).
      const history = (await alice.api.get(`/api/v2/workloads/${w.id}/events?limit=100`)).body.data.reverse();
      expect(history.slice(0, 2).map((e: any) => e.eventType)).toEqual(['Workload Created', 'Start Requested']);
      expect(history[1]).toMatchObject({ actorId: alice.id, timestamp: history[0].timestamp, details: { protonId: w.protonId } });
      const way = history.slice(2);
      expect(way.every((e: any) => e.eventType === 'Status Changed' && e.details.protonId === w.protonId)).toBe(true);
      const path = ['submitted', ...way.map((e: any) => e.details.to)];
      expect(way.map((e: any) => e.details.from)).toEqual(path.slice(0, -1));
      expect(path[path.length - 1]).toBe('running');
      // In order, no step back or repeated.
      expect(path).toEqual(['submitted', 'provisioning', 'launching', 'running'].filter((s) => path.includes(s)));
    });

    it('runs a partial runtime as sent by the public API\'s clients, answering with the full normalised runtime', async () => {
      const created = await api.post('/api/v2/workloads', { name: 'partial', artifact: echoArtifact('partial-art'), runtime: { containerGroups: [{ name: 'default', replicaCount: 3 }] } });
      expect(created.status).toBe(201);
      const w = created.body;
      expect(w.runtime).toEqual({
        containerGroups: [{ name: 'default', replicaCount: 3, autoscaling: null, resourceBundles: [], containers: [{ name: 'main', resourceAllocation: { cpu: 1, memory: 536870912, gpu: null } }] }],
      });
      const details = await waitFor(
        async () => {
          const d = await api.get(`/api/v2/workloads/${w.id}/protons/${w.protonId}/statusDetails`);
          // 204 until the runtime has a first snapshot.
          if (d.status !== 200 || d.body.overallStatus.state !== 'running') return undefined;
          return d.body.replicas.length === 3 && d.body.replicas.every((r: any) => r.status === 'running' && r.containers.every((c: any) => c.ready)) ? d.body : undefined;
        },
        'three running replicas',
        30_000,
        50,
      );
      expect(new Set(details.replicas.map((r: any) => r.name)).size).toBe(3);
      expect((await waitForStatus(api, w.id, 'running')).runtime).toEqual(w.runtime);
      expect(replicaProcesses(w.protonId)).toHaveLength(3);
    });

    it('fills a runtime from a resource bundle, and refuses an unknown bundle (422, nothing created)', async () => {
      // No group name either: it defaults to `default`.
      const bundled = await createDeployed(api, { name: 'bundled', runtime: { containerGroups: [{ resourceBundles: ['cpu.small'] }] } });
      expect(bundled.runtime).toEqual({
        containerGroups: [{ name: 'default', replicaCount: 1, autoscaling: null, resourceBundles: ['cpu.small'], containers: [{ name: 'main', resourceAllocation: { cpu: 1, memory: 1073741824, gpu: null } }] }],
      });
      const unknown = await api.post('/api/v2/workloads', {
        name: 'unknown-bundle',
        artifact: echoArtifact('unknown-bundle'),
        runtime: { containerGroups: [{ name: 'default', resourceBundles: ['cpu.nope'] }] },
      });
      expectValidationError(unknown, { loc: ['body', 'runtime', 'containerGroups', 0, 'resourceBundles', 0] });
      expect(await listAll(api, '/api/v2/workloads?search=unknown-bundle')).toEqual([]);
      expect((await listAll(api, '/api/v2/artifacts')).map((a) => a.name)).not.toContain('unknown-bundle');
      // At most one bundle per group.
      const two = await api.post('/api/v2/workloads', {
        name: 'two-bundles',
        artifact: echoArtifact('two-bundles'),
        runtime: { containerGroups: [{ name: 'default', resourceBundles: ['cpu.small', 'cpu.small'] }] },
      });
      expectValidationError(two, { loc: ['body', 'runtime', 'containerGroups', 0, 'resourceBundles'] });
      expect(await listAll(api, '/api/v2/workloads?search=two-bundles')).toEqual([]);
    });

    it('normalizes the runtime: memory units to bytes, autoscaling without replicaCount', async () => {
      const runtime = (memory: unknown, extra: Record<string, unknown> = {}) => ({
        containerGroups: [{ name: 'default', ...extra, containers: [{ name: 'main', resourceAllocation: { cpu: 0.5, memory, gpu: 0 } }] }],
      });
      const cases: Array<[unknown, number]> = [
        [268435456, 268435456],
        ['1Gi', 1073741824],
        ['256Mi', 268435456],
        ['512MB', 512000000],
        ['2GB', 2000000000],
        ['100KB', 100000],
      ];
      for (const [memory, bytes] of cases) {
        const w = await createParked(api, { name: `mem-${String(memory)}`, runtime: runtime(memory, { replicaCount: 2 }) });
        expect(w.runtime.containerGroups[0]).toMatchObject({ replicaCount: 2, containers: [{ name: 'main', resourceAllocation: { cpu: 0.5, memory: bytes, gpu: 0 } }] });
      }
      const autoscaling = { enabled: true, minReplicaCount: 0, maxReplicaCount: 3, policies: [{ scalingMetric: 'httpRequestsConcurrency', target: 5 }], cooldownPeriodMinutes: 2 };
      const scaled = await createParked(api, { name: 'scaled', runtime: runtime('1Gi', { autoscaling }) });
      expect(scaled.runtime.containerGroups[0]).toMatchObject({ replicaCount: null, autoscaling });
      // Containers are optional: the artifact's primary container gets the default allocation.
      const full = { name: 'default', replicaCount: 2, autoscaling: null, resourceBundles: [], containers: [{ name: 'main', resourceAllocation: { cpu: 1, memory: 536870912, gpu: null } }] };
      for (const group of [{ name: 'default', replicaCount: 2, containers: [] }, { name: 'default', replicaCount: 2 }]) {
        const w = await createParked(api, { name: `no-containers-${Object.keys(group).length}`, runtime: { containerGroups: [group] } });
        expect(w.runtime).toEqual({ containerGroups: [full] });
      }
    });

    it('validates the runtime', async () => {
      const group = (extra: Record<string, unknown>, memory: unknown = '1Gi') => ({
        name: 'w',
        artifact: echoArtifact(),
        runtime: { containerGroups: [{ name: 'default', ...extra, containers: [{ name: 'main', resourceAllocation: { cpu: 1, memory } }] }] },
      });
      const at = (...rest: Array<string | number>) => ['body', 'runtime', 'containerGroups', 0, ...rest];
      const policy = (scalingMetric: string) => [{ scalingMetric, target: 50 }];
      expectValidationError(
        await api.post('/api/v2/workloads', group({ replicaCount: 2, autoscaling: { enabled: true, minReplicaCount: 1, maxReplicaCount: 2, policies: policy('httpRequestsConcurrency') } })),
        { loc: at('replicaCount') },
      );
      expectValidationError(await api.post('/api/v2/workloads', group({ replicaCount: 0 })), { loc: at('replicaCount') });
      const minOverMax = await api.post('/api/v2/workloads', group({ autoscaling: { enabled: true, minReplicaCount: 3, maxReplicaCount: 2, policies: policy('httpRequestsConcurrency') } }));
      expect(expectValidationError(minOverMax).some((d) => d.loc.join('.').startsWith(at('autoscaling').join('.')))).toBe(true);
      const cpuToZero = await api.post('/api/v2/workloads', group({ autoscaling: { enabled: true, minReplicaCount: 0, maxReplicaCount: 2, policies: policy('cpuAverageUtilization') } }));
      expect(expectValidationError(cpuToZero).some((d) => d.loc.join('.').startsWith(at('autoscaling').join('.')))).toBe(true);
      expect(
        (await api.post('/api/v2/workloads', group({ autoscaling: { enabled: true, minReplicaCount: 1, maxReplicaCount: 2, policies: policy('cpuAverageUtilization') } }))).status,
      ).toBe(201);
      expectValidationError(await api.post('/api/v2/workloads', group({}, 'lots')), { loc: at('containers', 0, 'resourceAllocation', 'memory') });
      expectValidationError(await api.post('/api/v2/workloads', group({ replicaCount: 1, surprise: true })), { loc: at('surprise'), type: 'extra_forbidden' });
      // A GPU the local runtime cannot give is refused, not accepted and ignored; nothing is created.
      const gpu = await api.post('/api/v2/workloads', { name: 'wants-gpu', artifact: echoArtifact(), runtime: { containerGroups: [{ name: 'default', containers: [{ name: 'main', resourceAllocation: { cpu: 1, memory: '1Gi', gpu: 1 } }] }] } });
      expectValidationError(gpu, { loc: at('containers', 0, 'resourceAllocation', 'gpu') });
      expect(JSON.stringify(gpu.body.detail)).toContain('no GPUs');
      expect(await listAll(api, '/api/v2/workloads?search=wants-gpu')).toEqual([]);
    });

    it('validates the create body: artifactId xor artifact, name, importance, tags', async () => {
      const artifact = await createArtifact(api, 'xor');
      expectValidationError(await api.post('/api/v2/workloads', { name: 'both', artifactId: artifact.id, artifact: echoArtifact() }));
      expectValidationError(await api.post('/api/v2/workloads', { name: 'neither' }));
      expectValidationError(await api.post('/api/v2/workloads', { artifact: echoArtifact() }), { loc: ['body', 'name'], type: 'missing' });
      expectValidationError(await api.post('/api/v2/workloads', { name: '', artifact: echoArtifact() }), { loc: ['body', 'name'] });
      expectValidationError(await api.post('/api/v2/workloads', { name: 'imp', artifact: echoArtifact(), importance: 'urgent' }), { loc: ['body', 'importance'] });
      expectValidationError(await api.post('/api/v2/workloads', { name: 'tag', artifact: echoArtifact(), tags: [{ name: 'k' }] }), { loc: ['body', 'tags', 0, 'value'], type: 'missing' });
      expectValidationError(await api.post('/api/v2/workloads', { name: 'aid', artifactId: 'xyz' }), { loc: ['body', 'artifactId'] });
      // The artifact was not consumed by the refused requests.
      expect((await api.post('/api/v2/workloads', { name: 'xor-ok', artifactId: artifact.id })).status).toBe(201);
    });

    it('binds a draft artifact to at most one workload; a locked one to many', async () => {
      const draft = await createArtifact(bob.api, 'single-use');
      const first = await bob.api.post('/api/v2/workloads', { name: 'first-user', artifactId: draft.id, importance: 'high' });
      expect(first.status).toBe(201);
      expect(first.body).toMatchObject({ artifactId: draft.id, artifact: { id: draft.id, status: 'draft', version: null }, importance: 'high' });
      expectError(await bob.api.post('/api/v2/workloads', { name: 'second-user', artifactId: draft.id }), 409);
      expect((await listAll(bob.api, `/api/v2/workloads?artifactId=${draft.id}`)).map((w) => w.name)).toEqual(['first-user']);
      // Each create deploys: a stopping workload no longer counts against bob's limit.
      expect((await bob.api.post(`/api/v2/workloads/${first.body.id}/stop`)).status).toBe(202);

      const shared = await createArtifact(bob.api, 'shared');
      await bob.api.patch(`/api/v2/artifacts/${shared.id}`, { status: 'locked' });
      const a = await bob.api.post('/api/v2/workloads', { name: 'locked-a', artifactId: shared.id });
      const b = await bob.api.post('/api/v2/workloads', { name: 'locked-b', artifactId: shared.id });
      expect([a.status, b.status]).toEqual([201, 201]);
      expect(b.body.artifact).toEqual({ id: shared.id, name: 'shared', status: 'locked', type: 'service', version: 1, artifactRepositoryId: null });
      expectError(await bob.api.post('/api/v2/workloads', { name: 'ghost', artifactId: NO_SUCH_ID }), 404);
      expect((await bob.api.post('/api/v2/workloads', { name: 'ghost', artifactId: NO_SUCH_ID })).body.detail).toContain(NO_SUCH_ID);
    });

    it('shows a locked artifact in the summary of workloads already using it', async () => {
      const draft = await createArtifact(bob.api, 'lock-later');
      // At rest before the lock (a lock while its status changes can lose one of the two in the read model).
      const w = await createStopped(bob.api, { name: 'lock-later', artifact: undefined, artifactId: draft.id });
      await bob.api.patch(`/api/v2/artifacts/${draft.id}`, { status: 'locked' });
      expect((await bob.api.get(`/api/v2/workloads/${w.id}`)).body.artifact).toMatchObject({ id: draft.id, status: 'locked', version: 1 });
    });

    it('makes a retried create with the same Idempotency-Key return the same workload', async () => {
      const body = { name: 'idempotent', artifact: echoArtifact('idem') };
      const first = await alice.api.post('/api/v2/workloads', body, { 'idempotency-key': 'retry-1' });
      const again = await alice.api.post('/api/v2/workloads', body, { 'idempotency-key': 'retry-1' });
      expect(first.status).toBe(201);
      expect(again.status).toBe(201);
      expect(again.body.id).toBe(first.body.id);
      expect(again.body.artifactId).toBe(first.body.artifactId);
      const other = await alice.api.post('/api/v2/workloads', body, { 'idempotency-key': 'retry-2' });
      expect(other.status).toBe(201);
      expect(other.body.id).not.toBe(first.body.id);
      const listed = await listAll(alice.api, '/api/v2/workloads?search=idempotent');
      expect(listed.map((w) => w.id).sort()).toEqual([first.body.id, other.body.id].sort());
      // Alice is at the limit of active workloads now; a retry still answers the first result.
      expect(listed.every((w) => ACTIVE_STATUSES.includes(w.status))).toBe(true);
      const late = await alice.api.post('/api/v2/workloads', body, { 'idempotency-key': 'retry-1' });
      expect({ status: late.status, id: late.body.id }).toEqual({ status: 201, id: first.body.id });
    });

    it('patches name, description and importance by merge, without a restart', async () => {
      const w = await createDeployed(alice.api, { name: 'patchable', description: 'before', importance: 'moderate', tags: [{ name: 'team', value: 'a' }] });
      // Once the runtime has it running, a PATCH must leave status and proton alone.
      const before = await waitForStatus(alice.api, w.id, 'running');
      expect(before.protonId).toBe(w.protonId);

      const importance = await alice.api.patch(`/api/v2/workloads/${w.id}`, { importance: 'critical' });
      expect(importance.status).toBe(200);
      expect(importance.body).toMatchObject({ name: 'patchable', description: 'before', importance: 'critical', tags: [{ name: 'team', value: 'a' }] });
      expect(Date.parse(importance.body.updatedAt)).toBeGreaterThanOrEqual(Date.parse(before.updatedAt));
      expect(importance.body.createdAt).toBe(w.createdAt);
      const renamed = await alice.api.patch(`/api/v2/workloads/${w.id}`, { name: 'patched', description: 'after' });
      expect(renamed.body).toMatchObject({ name: 'patched', description: 'after', importance: 'critical' });
      const cleared = await alice.api.patch(`/api/v2/workloads/${w.id}`, { description: null });
      expect(cleared.body).toMatchObject({ name: 'patched', description: null, importance: 'critical' });

      const after = (await alice.api.get(`/api/v2/workloads/${w.id}`)).body;
      expect(after).toMatchObject({ name: 'patched', description: null, importance: 'critical', artifactId: w.artifactId, runtime: w.runtime });
      expect(after.status).toBe('running');
      expect(after.protonId).toBe(before.protonId);
      const events = (await alice.api.get(`/api/v2/workloads/${w.id}/events?limit=100`)).body.data.map((e: any) => e.eventType);
      expect(events.filter((t: string) => t === 'Start Requested')).toHaveLength(1);
      expect(events.filter((t: string) => t === 'Stop Requested')).toHaveLength(0);
      await alice.api.post(`/api/v2/workloads/${w.id}/stop`);

      expectValidationError(await alice.api.patch(`/api/v2/workloads/${w.id}`, { importance: 'urgent' }), { loc: ['body', 'importance'] });
      expectValidationError(await alice.api.patch(`/api/v2/workloads/${w.id}`, { name: '' }), { loc: ['body', 'name'] });
      expectValidationError(await alice.api.patch(`/api/v2/workloads/${w.id}`, { runtime: {} }), { loc: ['body', 'runtime'], type: 'extra_forbidden' });
      expectError(await alice.api.patch(`/api/v2/workloads/${NO_SUCH_ID}`, { name: 'x' }), 404);
    });

    it('shows workloads to their creator and admins only (404 to others)', async () => {
      const w = await createStopped(alice.api, { name: 'alice-private' });
      for (const [method, path, body] of [
        ['GET', `/api/v2/workloads/${w.id}`],
        ['PATCH', `/api/v2/workloads/${w.id}`, { name: 'bob-was-here' }],
        ['DELETE', `/api/v2/workloads/${w.id}`],
        ['POST', `/api/v2/workloads/${w.id}/start`],
        ['POST', `/api/v2/workloads/${w.id}/stop`],
        ['GET', `/api/v2/workloads/${w.id}/events`],
        ['GET', `/api/v2/workloads/${w.id}/related`],
      ] as Array<[string, string, unknown?]>) {
        const response = await bob.api.request(method, path, body);
        expect({ method, path, status: response.status }).toEqual({ method, path, status: 404 });
        expect(response.body.detail).toEqual(expect.any(String));
      }
      const untouched = (await alice.api.get(`/api/v2/workloads/${w.id}`)).body;
      expect(untouched).toMatchObject({ name: 'alice-private', status: 'stopped' });

      const bobSees = await listAll(bob.api, '/api/v2/workloads');
      expect(bobSees.map((x) => x.id)).not.toContain(w.id);
      expect(bobSees.every((x) => x.creator.id === bob.id)).toBe(true);
      const aliceSees = await listAll(alice.api, '/api/v2/workloads');
      expect(aliceSees.map((x) => x.id)).toContain(w.id);
      expect(aliceSees.every((x) => x.creator.id === alice.id)).toBe(true);
      const adminSees = await listAll(api, '/api/v2/workloads');
      expect(adminSees.map((x) => x.id)).toEqual(expect.arrayContaining([w.id, ...bobSees.map((x) => x.id)]));

      const asAdmin = await api.get(`/api/v2/workloads/${w.id}`);
      expect(asAdmin.status).toBe(200);
      expect(asAdmin.body.permissions).toEqual(expect.arrayContaining(OWNER_PERMISSIONS));
      expect(asAdmin.body.creator.id).toBe(alice.id);
      const adminPatch = await api.patch(`/api/v2/workloads/${w.id}`, { description: 'seen by admin' });
      expect(adminPatch.status).toBe(200);
    });

    it('deletes a workload: 204, then 404 everywhere, and releases its draft artifact', async () => {
      const w = await createParked(alice.api, { name: 'doomed' });
      expectError(await bob.api.delete(`/api/v2/workloads/${w.id}`), 404);
      expect((await alice.api.get(`/api/v2/workloads/${w.id}`)).status).toBe(200);

      const deleted = await alice.api.delete(`/api/v2/workloads/${w.id}`);
      expect(deleted.status).toBe(204);
      expect(deleted.body).toBeNull();
      for (const [method, path] of [
        ['GET', `/api/v2/workloads/${w.id}`],
        ['DELETE', `/api/v2/workloads/${w.id}`],
        ['PATCH', `/api/v2/workloads/${w.id}`],
        ['POST', `/api/v2/workloads/${w.id}/start`],
        ['POST', `/api/v2/workloads/${w.id}/stop`],
        ['GET', `/api/v2/workloads/${w.id}/events`],
        ['GET', `/api/v2/workloads/${w.id}/related`],
      ]) {
        const response = await alice.api.request(method, path, method === 'PATCH' ? { name: 'x' } : undefined);
        expect({ method, path, status: response.status }).toEqual({ method, path, status: 404 });
      }
      expect((await listAll(alice.api, '/api/v2/workloads')).map((x) => x.id)).not.toContain(w.id);
      expect((await listAll(api, `/api/v2/workloads?ids=${w.id}`)).length).toBe(0);
      // The inline draft is free again: it can back a new workload, or be deleted.
      const reuse = await alice.api.post('/api/v2/workloads', { name: 'reuse', artifactId: w.artifactId });
      expect(reuse.status).toBe(201);
      expect((await alice.api.delete(`/api/v2/workloads/${reuse.body.id}`)).status).toBe(204);
      expect((await alice.api.delete(`/api/v2/artifacts/${w.artifactId}`)).status).toBe(204);
    });

    it('deletes a started workload too, replicas and all', async () => {
      const w = await createDeployed(bob.api, { name: 'doomed-running' });
      await waitFor(() => replicaProcesses(w.protonId).length === 1, 'its replica process', 10_000, 20);
      expect((await bob.api.delete(`/api/v2/workloads/${w.id}`)).status).toBe(204);
      expectError(await bob.api.get(`/api/v2/workloads/${w.id}`), 404);
      expect(replicaProcesses(w.protonId)).toHaveLength(0);
    });
  });

  describe('start and stop', () => {
    const operation = (id: string) => ({ status: expect.any(String), workloadId: id, trackVia: `/api/v2/workloads/${id}` });

    it('starts (202, then 200 while starting or running) and stops (202, then 200 when stopped)', async () => {
      const w = await createDeployed(alice.api, { name: 'lifecycle' });
      expect(w).toMatchObject({ status: 'submitted', protonId: expect.stringMatching(ID) });
      // Created means starting: a start is a no-op.
      const startCreated = await alice.api.post(`/api/v2/workloads/${w.id}/start`);
      expect(startCreated.status).toBe(200);
      expect(startCreated.body).toEqual(operation(w.id));

      const stopCreated = await alice.api.post(`/api/v2/workloads/${w.id}/stop`);
      expect(stopCreated.status).toBe(202);
      expect(stopCreated.body).toEqual(operation(w.id));
      expect(['stopping', 'stopped']).toContain((await alice.api.get(`/api/v2/workloads/${w.id}`)).body.status);
      await waitForStatus(alice.api, w.id, 'stopped');

      const stopStopped = await alice.api.post(`/api/v2/workloads/${w.id}/stop`);
      expect(stopStopped.status).toBe(200);
      expect(stopStopped.body).toEqual(operation(w.id));
      expect((await alice.api.get(`/api/v2/workloads/${w.id}`)).body.status).toBe('stopped');

      const started = await alice.api.post(`/api/v2/workloads/${w.id}/start`);
      expect(started.status).toBe(202);
      expect(started.body).toEqual(operation(w.id));
      const afterStart = (await alice.api.get(started.body.trackVia)).body;
      expect(ACTIVE_STATUSES).toContain(afterStart.status);

      const again = await alice.api.post(`/api/v2/workloads/${w.id}/start`);
      expect(again.status).toBe(200);
      expect(again.body).toEqual(operation(w.id));

      const stopped = await alice.api.post(`/api/v2/workloads/${w.id}/stop`);
      expect(stopped.status).toBe(202);
      expect(stopped.body).toEqual(operation(w.id));
      expect(['stopping', 'stopped']).toContain((await alice.api.get(`/api/v2/workloads/${w.id}`)).body.status);

      expectError(await alice.api.post(`/api/v2/workloads/${NO_SUCH_ID}/start`), 404);
      expectError(await alice.api.post(`/api/v2/workloads/${NO_SUCH_ID}/stop`), 404);
      expectError(await alice.api.post('/api/v2/workloads/nope/start'), 404);
    });

    it('lets an admin start and stop any workload', async () => {
      const w = await createDeployed(bob.api, { name: 'admin-operated' });
      expect((await api.post(`/api/v2/workloads/${w.id}/stop`)).status).toBe(202);
      await waitForStatus(bob.api, w.id, 'stopped');
      expect((await api.post(`/api/v2/workloads/${w.id}/start`)).status).toBe(202);
      expect(ACTIVE_STATUSES).toContain((await bob.api.get(`/api/v2/workloads/${w.id}`)).body.status);
      expect((await api.post(`/api/v2/workloads/${w.id}/stop`)).status).toBe(202);
    });

    it('answers 403 when a create or a start would exceed the per-owner limit of active workloads', async () => {
      const carol = await createUser(system, 'carol');
      const spare = await createArtifact(carol.api, 'quota-spare');
      const ws = [];
      for (let i = 0; i < MAX_ACTIVE; i++) ws.push(await createDeployed(carol.api, { name: `quota-${i}`, artifact: echoArtifact(`quota-art-${i}`) }));
      const workloadsBefore = await listAll(carol.api, '/api/v2/workloads');
      const artifactsBefore = await listAll(carol.api, '/api/v2/artifacts');
      expect(workloadsBefore).toHaveLength(MAX_ACTIVE);

      // A create past the limit is refused whole: no workload, no inline artifact, no binding.
      const inline = await carol.api.post('/api/v2/workloads', { name: 'quota-over', artifact: echoArtifact('quota-over-art') });
      expectError(inline, 403);
      expect(inline.body.detail).toContain(`limit of ${MAX_ACTIVE}`);
      expectError(await carol.api.post('/api/v2/workloads', { name: 'quota-over', artifactId: spare.id }), 403);
      expect(await listAll(carol.api, '/api/v2/workloads')).toEqual(workloadsBefore.map((w) => expect.objectContaining({ id: w.id })));
      expect((await carol.api.get('/api/v2/workloads')).body.totalCount).toBe(MAX_ACTIVE);
      expect(await listAll(carol.api, '/api/v2/artifacts')).toEqual(artifactsBefore);

      // A stopping workload no longer counts; the spare draft was not bound (a draft backs one workload).
      expect((await carol.api.post(`/api/v2/workloads/${ws[1].id}/stop`)).status).toBe(202);
      const freed = await carol.api.post('/api/v2/workloads', { name: 'quota-freed', artifactId: spare.id });
      expect({ status: freed.status, artifactId: freed.body.artifactId }).toEqual({ status: 201, artifactId: spare.id });
      expect(ACTIVE_STATUSES).toContain(freed.body.status);

      // Full again: the stopped one cannot start.
      await waitForStatus(carol.api, ws[1].id, 'stopped');
      expectError(await carol.api.post(`/api/v2/workloads/${ws[1].id}/start`), 403);
      expect((await carol.api.get(`/api/v2/workloads/${ws[1].id}`)).body.status).toBe('stopped');
      const starts = (await carol.api.get(`/api/v2/workloads/${ws[1].id}/events?limit=100`)).body.data.filter((e: any) => e.eventType === 'Start Requested');
      expect(starts).toHaveLength(1);
      // An admin's start counts against the creator's limit too.
      expectError(await api.post(`/api/v2/workloads/${ws[1].id}/start`), 403);
    });
  });

  describe('events and related', () => {
    it('lists events newest first with their actor, paged by offset/limit', async () => {
      const w = await createDeployed(alice.api, { name: 'eventful' });
      await api.patch(`/api/v2/workloads/${w.id}`, { importance: 'high' });
      // Created means started: this start is a no-op and appends nothing.
      expect((await alice.api.post(`/api/v2/workloads/${w.id}/start`)).status).toBe(200);
      await alice.api.post(`/api/v2/workloads/${w.id}/stop`);
      // The runtime appends status changes on its own; read once it has stopped and the stream stopped growing.
      await waitForStatus(alice.api, w.id, 'stopped');
      await settledEvents(alice.api, w.id);

      const page = await alice.api.get(`/api/v2/workloads/${w.id}/events?limit=100`);
      expect(page.status).toBe(200);
      expect(page.body).toEqual({ totalCount: page.body.data.length, count: page.body.data.length, next: null, previous: null, data: expect.any(Array) });
      const events = page.body.data;
      for (const e of events) {
        expect(e).toEqual({ id: expect.any(String), workloadId: w.id, timestamp: expect.stringMatching(TIME), eventType: expect.any(String), actorId: e.actorId, details: expect.any(Object) });
        expect(EVENT_TYPES).toContain(e.eventType);
      }
      expect(new Set(events.map((e: any) => e.id)).size).toBe(events.length);
      for (let i = 1; i < events.length; i++) expect(Date.parse(events[i - 1].timestamp)).toBeGreaterThanOrEqual(Date.parse(events[i].timestamp));
      // Status changes come from the runtime; the requests themselves are in this order, newest first.
      const requests = ['Workload Created', 'Workload Updated', 'Start Requested', 'Stop Requested'];
      const requested = events.filter((e: any) => requests.includes(e.eventType)).map((e: any) => [e.eventType, e.actorId]);
      expect(requested).toEqual([
        ['Stop Requested', alice.id],
        ['Workload Updated', admin.id],
        ['Start Requested', alice.id],
        ['Workload Created', alice.id],
      ]);

      // Paging one at a time yields the same sequence, with links that change only offset.
      const walked: any[] = [];
      for (let offset = 0; offset < events.length; offset++) {
        const one = await alice.api.get(`/api/v2/workloads/${w.id}/events?limit=1&offset=${offset}`);
        expect(one.body).toMatchObject({ totalCount: events.length, count: 1 });
        expect(one.body.previous).toBe(offset === 0 ? null : `${system.baseUrl}/api/v2/workloads/${w.id}/events?limit=1&offset=${offset - 1}`);
        expect(one.body.next).toBe(offset === events.length - 1 ? null : `${system.baseUrl}/api/v2/workloads/${w.id}/events?limit=1&offset=${offset + 1}`);
        walked.push(...one.body.data);
      }
      expect(walked).toEqual(events);
      // Default limit is 10.
      expect((await alice.api.get(`/api/v2/workloads/${w.id}/events`)).body.count).toBe(Math.min(10, events.length));
      // An admin reads them too.
      expect((await api.get(`/api/v2/workloads/${w.id}/events?limit=100`)).body.data).toEqual(events);
    });

    it('lists related resources, unpaged', async () => {
      const w = await createParked(alice.api, { name: 'related', artifact: echoArtifact('related-art') });
      const related = await alice.api.get(`/api/v2/workloads/${w.id}/related`);
      expect(related.status).toBe(200);
      expect(Object.keys(related.body).sort()).toEqual(['count', 'data']);
      expect(related.body.count).toBe(related.body.data.length);
      for (const r of related.body.data) {
        expect(r).toEqual({ id: expect.any(String), type: expect.stringMatching(/^(artifact|proton|replacement)$/), name: expect.any(String), createdAt: expect.stringMatching(TIME) });
      }
      const artifact = (await alice.api.get(`/api/v2/artifacts/${w.artifactId}`)).body;
      expect(related.body.data).toContainEqual({ id: w.artifactId, type: 'artifact', name: 'related-art', createdAt: artifact.createdAt });
      // Created means deployed: its proton is related too.
      expect(related.body.data).toContainEqual(expect.objectContaining({ id: w.protonId, type: 'proton' }));
      expectValidationError(await alice.api.get(`/api/v2/workloads/${w.id}/related?limit=1`), { loc: ['query', 'limit'], type: 'extra_forbidden' });
    });
  });

  describe('rate limiting', () => {
    it('answers 429 with Retry-After once a token exceeds its limit, without affecting other tokens', async () => {
      const flood = await createUser(system, 'flood');
      let limited: Awaited<ReturnType<ApiClient['get']>> | undefined;
      let sent = 0;
      while (!limited && sent < RATE_LIMIT_PER_MINUTE * 3) {
        // An invalid query is refused cheaply after authentication, which is where the limit applies.
        const batch = await Promise.all(Array.from({ length: 50 }, () => flood.api.get('/api/v2/workloads?limit=0')));
        sent += batch.length;
        limited = batch.find((r) => r.status === 429);
        for (const r of batch) expect([422, 429]).toContain(r.status);
      }
      expect(limited).toBeDefined();
      expect(sent).toBeGreaterThanOrEqual(RATE_LIMIT_PER_MINUTE);
      expectError(limited!, 429);
      expect(Number(limited!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect((await api.get('/api/v2/workloads?limit=1')).status).toBe(200);
      expect((await bob.api.get('/api/v2/workloads?limit=1')).status).toBe(200);
    });
  });
});
