import { ROLE_PERMISSIONS, ROUTE_POLICY, RouteRule } from '@wcp/access';
import type { ShareRole } from '@wcp/contracts';
import { ApiClient, ApiResponse, waitFor } from '@wcp/testing';
import { createUser, TestUser, waitForStatus } from './api.helpers';
import { startDistributedSystem, startEmbeddedSystem, System } from './system.harness';

/**
 * The authorization matrix, generated from the policy itself: every route of ROUTE_POLICY ×
 * every kind of caller → the status the permission table (ROLE_PERMISSIONS) implies, against
 * the running system. A route without a probe here fails the first test, and the gateway does
 * not boot with a route missing from ROUTE_POLICY, so a route added later cannot skip this.
 *
 * A probe is a request that passes the gate and then succeeds, or, where success would destroy
 * the fixture or start processes (delete, stop, a replacement), is refused by the route's own
 * validation (422): either answer can only come after the policy let the caller through.
 */
type Caller = 'owner' | 'sharedUser' | 'sharedConsumer' | 'groupUser' | 'orgConsumer' | 'stranger' | 'admin';
const CALLERS: Caller[] = ['owner', 'sharedUser', 'sharedConsumer', 'groupUser', 'orgConsumer', 'stranger', 'admin'];
/** The role each caller holds on the fixture, as the sharing below sets it up. */
const ROLE: Record<Caller, ShareRole | null> = {
  owner: 'OWNER',
  sharedUser: 'USER',
  sharedConsumer: 'CONSUMER',
  groupUser: 'USER',
  orgConsumer: 'CONSUMER',
  stranger: null,
  admin: 'OWNER',
};

interface Fixture {
  workloadId: string;
  protonId: string;
  artifactId: string;
  strangerId: string;
  sharedRoles: unknown[];
}

interface Probe {
  method: string;
  path: (f: Fixture) => string;
  body?: (f: Fixture) => unknown;
  /** Statuses meaning "let through" for a caller the rule admits. */
  allowed: number[];
  /** Further checks of an admitted answer. */
  check?: (response: ApiResponse, role: ShareRole | null, f: Fixture) => void;
  /** For `token` routes whose answer depends on who asks (artifacts are their creator's). */
  expectFor?: (caller: Caller) => number;
}

const W = '/api/v2/workloads/:id';
const DATA_PLANE = '/api/v2/endpoints/workloads/:workloadId';
const bogus = '?matrixProbe=1';
const wid = (f: Fixture) => `/api/v2/workloads/${f.workloadId}`;

const PROBES: Record<string, Probe> = {
  'GET /api/v2/health': { method: 'GET', path: () => '/api/v2/health', allowed: [200] },
  'GET /api/v2/version': { method: 'GET', path: () => '/api/v2/version', allowed: [200] },
  'GET /api/v2/openapi.json': { method: 'GET', path: () => '/api/v2/openapi.json', allowed: [200] },
  'GET /api/v2/docs': { method: 'GET', path: () => '/api/v2/docs', allowed: [200] },
  'GET /api/v2/docs/:asset': { method: 'GET', path: () => '/api/v2/docs/swagger-ui.css', allowed: [200] },
  'POST /api/v2/workloads': { method: 'POST', path: () => '/api/v2/workloads', body: () => ({}), allowed: [422] },
  'GET /api/v2/workloads': {
    method: 'GET',
    path: (f) => `/api/v2/workloads?ids=${f.workloadId}`,
    allowed: [200],
    check: (r, role, f) => expect(r.body.data.map((w: { id: string }) => w.id)).toEqual(role ? [f.workloadId] : []),
  },
  'GET /api/v2/workloads/stats': {
    method: 'GET',
    path: (f) => `/api/v2/workloads/stats?ids=${f.workloadId}`,
    allowed: [200],
    check: (r, role) => expect(r.body.workloads.total).toBe(role ? 1 : 0),
  },
  [`GET ${W}`]: {
    method: 'GET',
    path: wid,
    allowed: [200],
    // `permissions` is what the same policy lets through, for every role.
    check: (r, role) => expect([...r.body.permissions].sort()).toEqual([...ROLE_PERMISSIONS[role ?? 'CONSUMER']].sort()),
  },
  [`PATCH ${W}`]: { method: 'PATCH', path: wid, body: () => ({ description: 'authorization matrix' }), allowed: [200] },
  [`DELETE ${W}`]: { method: 'DELETE', path: (f) => `${wid(f)}${bogus}`, allowed: [422] },
  [`POST ${W}/start`]: { method: 'POST', path: (f) => `${wid(f)}/start`, allowed: [200] },
  [`POST ${W}/stop`]: { method: 'POST', path: (f) => `${wid(f)}/stop${bogus}`, allowed: [422] },
  [`GET ${W}/events`]: { method: 'GET', path: (f) => `${wid(f)}/events`, allowed: [200] },
  [`GET ${W}/related`]: { method: 'GET', path: (f) => `${wid(f)}/related`, allowed: [200] },
  [`GET ${W}/protons`]: { method: 'GET', path: (f) => `${wid(f)}/protons`, allowed: [200] },
  [`GET ${W}/protons/:protonId`]: { method: 'GET', path: (f) => `${wid(f)}/protons/${f.protonId}`, allowed: [200] },
  [`GET ${W}/protons/:protonId/statusDetails`]: { method: 'GET', path: (f) => `${wid(f)}/protons/${f.protonId}/statusDetails`, allowed: [200, 204] },
  [`GET ${W}/settings`]: { method: 'GET', path: (f) => `${wid(f)}/settings`, allowed: [200] },
  [`PATCH ${W}/settings`]: { method: 'PATCH', path: (f) => `${wid(f)}/settings`, body: () => ({}), allowed: [422] },
  [`POST ${W}/replacement`]: { method: 'POST', path: (f) => `${wid(f)}/replacement`, body: () => ({}), allowed: [422] },
  [`GET ${W}/replacement`]: {
    method: 'GET',
    path: (f) => `${wid(f)}/replacement`,
    allowed: [404],
    check: (r) => expect(r.body.detail).toBe('There is no active replacement for this workload.'),
  },
  [`DELETE ${W}/replacement`]: { method: 'DELETE', path: (f) => `${wid(f)}/replacement${bogus}`, allowed: [422] },
  [`POST ${W}/replacement/resume`]: { method: 'POST', path: (f) => `${wid(f)}/replacement/resume${bogus}`, allowed: [422] },
  [`GET ${W}/history`]: { method: 'GET', path: (f) => `${wid(f)}/history`, allowed: [200] },
  [`POST ${W}/promote`]: { method: 'POST', path: (f) => `${wid(f)}/promote${bogus}`, allowed: [422] },
  [`GET ${W}/stats`]: { method: 'GET', path: (f) => `${wid(f)}/stats`, allowed: [200] },
  [`GET ${W}/stats/:metricName`]: { method: 'GET', path: (f) => `${wid(f)}/stats/totalRequests`, allowed: [200] },
  [`DELETE ${W}/stats`]: { method: 'DELETE', path: (f) => `${wid(f)}/stats?startTime=2020-01-01T00:00:00.000Z&endTime=2020-01-02T00:00:00.000Z`, allowed: [204] },
  [`GET ${W}/sharedRoles`]: { method: 'GET', path: (f) => `${wid(f)}/sharedRoles`, allowed: [200], check: (r, _role, f) => expect(r.body.data).toEqual(f.sharedRoles) },
  // The same list again: changes nothing, so every admitted caller gets the real 204.
  [`PATCH ${W}/sharedRoles`]: {
    method: 'PATCH',
    path: (f) => `${wid(f)}/sharedRoles`,
    body: (f) => ({ operation: 'updateRoles', roles: f.sharedRoles.map((r: any) => ({ shareRecipientType: r.shareRecipientType, role: r.role, id: r.id })) }),
    allowed: [204],
  },
  'GET /api/v2/otel/workload/:id/logs': { method: 'GET', path: (f) => `/api/v2/otel/workload/${f.workloadId}/logs`, allowed: [200] },
  [`ANY ${DATA_PLANE}`]: { method: 'POST', path: (f) => `/api/v2/endpoints/workloads/${f.workloadId}`, body: () => ({ x: 1 }), allowed: [200], check: (r) => expect(r.body.ok).toBe(true) },
  [`ANY ${DATA_PLANE}/*`]: { method: 'PUT', path: (f) => `/api/v2/endpoints/workloads/${f.workloadId}/predict`, body: () => ({ x: 1 }), allowed: [200], check: (r) => expect(r.body.path).toBe('/predict') },
  'POST /api/v2/artifacts': { method: 'POST', path: () => '/api/v2/artifacts', body: () => ({}), allowed: [422] },
  'GET /api/v2/artifacts': { method: 'GET', path: () => '/api/v2/artifacts', allowed: [200] },
  // Artifacts are visible to their creator and admins only (docs/architecture.md), not shared with the workload.
  'GET /api/v2/artifacts/:id': { method: 'GET', path: (f) => `/api/v2/artifacts/${f.artifactId}`, allowed: [200], expectFor: (c) => (c === 'owner' || c === 'admin' ? 200 : 404) },
  'PATCH /api/v2/artifacts/:id': { method: 'PATCH', path: (f) => `/api/v2/artifacts/${f.artifactId}`, body: () => ({ status: 'not-a-status' }), allowed: [422] },
  'DELETE /api/v2/artifacts/:id': { method: 'DELETE', path: (f) => `/api/v2/artifacts/${f.artifactId}${bogus}`, allowed: [422] },
  'POST /api/v2/admin/users': { method: 'POST', path: () => '/api/v2/admin/users', body: () => ({}), allowed: [422] },
  'GET /api/v2/admin/users': { method: 'GET', path: () => '/api/v2/admin/users', allowed: [200] },
  'PATCH /api/v2/admin/users/:id': { method: 'PATCH', path: (f) => `/api/v2/admin/users/${f.strangerId}`, body: () => ({}), allowed: [200] },
  'POST /api/v2/admin/groups': { method: 'POST', path: () => '/api/v2/admin/groups', body: () => ({}), allowed: [422] },
  'GET /api/v2/admin/groups': { method: 'GET', path: () => '/api/v2/admin/groups', allowed: [200] },
  'POST /api/v2/admin/orgs': { method: 'POST', path: () => '/api/v2/admin/orgs', body: () => ({}), allowed: [422] },
  'GET /api/v2/admin/orgs': { method: 'GET', path: () => '/api/v2/admin/orgs', allowed: [200] },
};

/** What the permission table says `caller` gets on a route with `rule`. */
function expected(rule: RouteRule, caller: Caller): { admitted: true } | { status: 403 | 404; permission?: string } {
  if (rule.auth === 'public' || rule.auth === 'token') return { admitted: true };
  if (rule.auth === 'admin') return caller === 'admin' ? { admitted: true } : { status: 403 };
  const role = ROLE[caller];
  if (role === null) return { status: 404 };
  return ROLE_PERMISSIONS[role].includes(rule.permission) ? { admitted: true } : { status: 403, permission: rule.permission };
}

/** The subset run against the distributed system: one route of every rule kind and permission. */
const DISTRIBUTED_ROUTES = [
  'GET /api/v2/health',
  'GET /api/v2/workloads',
  `GET ${W}`,
  `GET ${W}/settings`,
  `PATCH ${W}`,
  `DELETE ${W}`,
  `PATCH ${W}/sharedRoles`,
  `ANY ${DATA_PLANE}/*`,
  'GET /api/v2/admin/users',
];

describe.each([
  ['embedded', () => startEmbeddedSystem(), Object.keys(ROUTE_POLICY)],
  ['distributed (Kafka + FerretDB, three processes)', () => startDistributedSystem(), DISTRIBUTED_ROUTES],
])('authorization matrix — %s', (_mode, start, routes) => {
  let system: System;
  const callers = {} as Record<Caller, ApiClient>;
  let fixture: Fixture;
  const MISSING = '0123456789abcdef01234567';

  beforeAll(async () => {
    system = await start();
    const admin = system.api;
    const group = await admin.post('/api/v2/admin/groups', { name: 'matrix-group' });
    const org = await admin.post('/api/v2/admin/orgs', { name: 'matrix-org' });
    expect([group.status, org.status]).toEqual([201, 201]);
    const users: Record<string, TestUser> = {
      owner: await createUser(system, 'm-owner'),
      sharedUser: await createUser(system, 'm-user'),
      sharedConsumer: await createUser(system, 'm-consumer'),
      groupUser: await createUser(system, 'm-group-member', { groupIds: [group.body.id] }),
      orgConsumer: await createUser(system, 'm-org-member', { orgId: org.body.id }),
      stranger: await createUser(system, 'm-stranger'),
    };
    for (const caller of CALLERS) callers[caller] = caller === 'admin' ? admin : users[caller].api;
    const owner = callers.owner;
    const created = await owner.post('/api/v2/workloads', {
      name: 'matrix',
      artifact: { name: 'matrix-v1', spec: { containerGroups: [{ name: 'default', containers: [{ name: 'main', primary: true, imageUri: 'local/echo-model:1', port: 8000 }] }] } },
    });
    expect(created.status).toBe(201);
    const running = await waitForStatus(owner, created.body.id, 'running', 60_000);
    const share = await owner.patch(`/api/v2/workloads/${created.body.id}/sharedRoles`, {
      operation: 'updateRoles',
      roles: [
        { shareRecipientType: 'user', role: 'OWNER', id: users.owner.id },
        { shareRecipientType: 'user', role: 'user', username: 'm-user' },
        { shareRecipientType: 'user', role: 'Consumer', id: users.sharedConsumer.id },
        { shareRecipientType: 'group', role: 'USER', id: group.body.id },
        { shareRecipientType: 'organization', role: 'CONSUMER', id: org.body.id },
      ],
    });
    expect(share.status).toBe(204);
    const sharedRoles = (await owner.get(`/api/v2/workloads/${created.body.id}/sharedRoles`)).body.data;
    fixture = { workloadId: created.body.id, protonId: running.protonId, artifactId: running.artifactId, strangerId: users.stranger.id, sharedRoles };
    // The gateway may hold the roles from before the share for ACCESS_CACHE_MS.
    await waitFor(async () => (await callers.orgConsumer.get(`/api/v2/workloads/${fixture.workloadId}`)).status === 200, 'share visible', 5_000);
  }, 180_000);

  afterAll(async () => {
    await system?.stop();
  });

  it('has a probe for every route of the policy, and a rule for every probe', () => {
    expect(Object.keys(PROBES).sort()).toEqual(Object.keys(ROUTE_POLICY).sort());
  });

  it.each(routes)('%s', async (route) => {
    const rule = ROUTE_POLICY[route];
    const probe = PROBES[route];
    const send = (api: ApiClient, f: Fixture) => api.request(probe.method, probe.path(f), probe.body?.(f));
    const anonymous = await send(new ApiClient(system.baseUrl), fixture);
    expect([route, anonymous.status]).toEqual([route, rule.auth === 'public' ? probe.allowed[0] : 401]);
    for (const caller of CALLERS) {
      const response = await send(callers[caller], fixture);
      const want = expected(rule, caller);
      const seen = { route, caller, status: response.status, body: response.body };
      if ('admitted' in want) {
        if (probe.expectFor) expect(seen).toMatchObject({ status: probe.expectFor(caller) });
        else expect(probe.allowed).toContain(response.status);
        if (probe.check && !probe.expectFor) probe.check(response, ROLE[caller], fixture);
      } else if (want.status === 404) {
        // No existence leak: exactly what the same caller gets for a workload that does not exist.
        const missing = await send(callers[caller], { ...fixture, workloadId: MISSING });
        expect(seen).toMatchObject({ status: 404, body: { detail: `Workload ${fixture.workloadId} was not found.` } });
        expect({ status: missing.status, body: missing.body }).toEqual({ status: 404, body: { detail: `Workload ${MISSING} was not found.` } });
      } else {
        expect(seen).toMatchObject({ status: 403 });
        if (want.permission) expect(response.body.detail).toContain(want.permission);
      }
    }
  });
});
