import { ApiClient, waitFor } from '@wcp/testing';
import { createUser, expectValidationError, TestUser, waitForStatus } from './api.helpers';
import { echoArtifact, startDistributedSystem, startEmbeddedSystem, System } from './system.harness';

/**
 * Sharing (spec §2 Shared role, §3 sharedRoles and identity) through the gateway: every
 * validation rule of a PATCH (and that a refused one changes nothing), users, groups and
 * organizations as recipients, membership changes within the documented cache bound, the race
 * between a removed share and a command in flight, and the events that record who changed what.
 * Which route each role may call is the authorization matrix's job.
 */

/** AUTH_CACHE_MS + ACCESS_CACHE_MS at their maximum: the bound docs/sharing.md promises. */
const CACHE_MS = 2000;

describe('sharing', () => {
  let system: System;
  let admin: ApiClient;
  let owner: TestUser;
  let bob: TestUser;
  let carol: TestUser;
  let groupId: string;
  let orgId: string;
  let workloadId: string;

  const roles = async (id = workloadId) => (await owner.api.get(`/api/v2/workloads/${id}/sharedRoles?limit=100`)).body;
  const patch = (body: unknown, as: ApiClient = owner.api, id = workloadId) => as.patch(`/api/v2/workloads/${id}/sharedRoles`, body);
  const me = () => ({ shareRecipientType: 'user', role: 'OWNER', id: owner.id });

  beforeAll(async () => {
    system = await startEmbeddedSystem({ AUTH_CACHE_MS: String(CACHE_MS), ACCESS_CACHE_MS: String(CACHE_MS) });
    admin = system.api;
    const group = await admin.post('/api/v2/admin/groups', { name: 'data-science' });
    const org = await admin.post('/api/v2/admin/orgs', { name: 'acme' });
    expect([group.status, org.status]).toEqual([201, 201]);
    expect(org.body).toEqual({ id: expect.stringMatching(/^[0-9a-f]{24}$/), name: 'acme' });
    groupId = group.body.id;
    orgId = org.body.id;
    owner = await createUser(system, 's-owner');
    bob = await createUser(system, 's-bob');
    carol = await createUser(system, 's-carol');
    const created = await owner.api.post('/api/v2/workloads', { name: 'shared', artifact: echoArtifact('shared-v1') });
    expect(created.status).toBe(201);
    workloadId = created.body.id;
    await waitForStatus(owner.api, workloadId, 'running', 60_000);
  }, 180_000);

  afterAll(async () => {
    await system?.stop();
  });

  it('starts with the creator as the one OWNER', async () => {
    expect(await roles()).toMatchObject({ totalCount: 1, count: 1, next: null, previous: null, data: [{ id: owner.id, name: 's-owner', shareRecipientType: 'user', role: 'OWNER' }] });
    const w = (await owner.api.get(`/api/v2/workloads/${workloadId}`)).body;
    expect(w.owners).toEqual([{ id: owner.id, username: 's-owner' }]);
  });

  it('validates every entry, and a refused PATCH changes nothing', async () => {
    const before = await roles();
    const bobAs = (role: string) => ({ shareRecipientType: 'user', role, id: bob.id });
    expectValidationError(await patch({ operation: 'updateRoles', roles: [] }), { loc: ['body', 'roles'] });
    expectValidationError(await patch({ operation: 'updateRoles', roles: Array.from({ length: 101 }, () => me()) }), { loc: ['body', 'roles'] });
    expectValidationError(await patch({ operation: 'addRoles', roles: [me()] }), { loc: ['body', 'operation'] });
    expectValidationError(await patch({ roles: [me()] }), { loc: ['body', 'operation'], type: 'missing' });
    expectValidationError(await patch({ operation: 'updateRoles', roles: [me(), bobAs('READER')] }), { loc: ['body', 'roles', 1, 'role'] });
    expectValidationError(await patch({ operation: 'updateRoles', roles: [me(), bobAs('USER'), bobAs('CONSUMER')] }), { loc: ['body', 'roles', 2] });
    expectValidationError(await patch({ operation: 'updateRoles', roles: [me(), { shareRecipientType: 'user', role: 'USER', username: 'S-BOB' }, bobAs('CONSUMER')] }), { loc: ['body', 'roles', 2] });
    expectValidationError(await patch({ operation: 'updateRoles', roles: [me(), { shareRecipientType: 'group', role: 'USER', username: 'x' }] }), { loc: ['body', 'roles', 1, 'username'] });
    expectValidationError(await patch({ operation: 'updateRoles', roles: [me(), { shareRecipientType: 'user', role: 'USER' }] }), { loc: ['body', 'roles', 1, 'id'] });
    expectValidationError(await patch({ operation: 'updateRoles', roles: [me(), { shareRecipientType: 'team', role: 'USER', id: bob.id }] }), { loc: ['body', 'roles', 1, 'shareRecipientType'] });
    expectValidationError(await patch({ operation: 'updateRoles', roles: [me(), { ...bobAs('USER'), extra: 1 }] }), { loc: ['body', 'roles', 1, 'extra'], type: 'extra_forbidden' });
    expectValidationError(await patch({ operation: 'updateRoles', roles: [bobAs('USER')] }), { loc: ['body', 'roles'] });
    expectValidationError(await patch({ operation: 'updateRoles', roles: [{ ...me(), role: 'no_role' }, bobAs('USER')] }), { loc: ['body', 'roles'] });

    const unknownUser = await patch({ operation: 'updateRoles', roles: [me(), { shareRecipientType: 'user', role: 'USER', username: 'nobody-here' }] });
    expect(unknownUser).toMatchObject({ status: 404, body: { detail: "User 'nobody-here' was not found." } });
    const ghost = 'abcdefabcdefabcdefabcdef';
    expect(await patch({ operation: 'updateRoles', roles: [me(), { shareRecipientType: 'group', role: 'USER', id: ghost }] })).toMatchObject({ status: 404, body: { detail: `Group ${ghost} was not found.` } });
    expect(await patch({ operation: 'updateRoles', roles: [me(), { shareRecipientType: 'organization', role: 'USER', id: ghost }] })).toMatchObject({ status: 404, body: { detail: `Organization ${ghost} was not found.` } });
    // A group's id is not a user's: the type says where to look.
    expect(await patch({ operation: 'updateRoles', roles: [me(), { shareRecipientType: 'user', role: 'USER', id: groupId }] })).toMatchObject({ status: 404, body: { detail: `User ${groupId} was not found.` } });
    expect(await roles()).toEqual(before);
  });

  it('replaces the list, takes roles in any case, removes NO_ROLE recipients and records who changed what', async () => {
    const shared = await patch({
      operation: 'updateRoles',
      roles: [me(), { shareRecipientType: 'user', role: 'owner', username: 'S-Bob' }, { shareRecipientType: 'group', role: 'Consumer', id: groupId }],
    });
    expect(shared.status).toBe(204);
    expect((await roles()).data).toEqual([
      { id: owner.id, name: 's-owner', shareRecipientType: 'user', role: 'OWNER' },
      { id: bob.id, name: 's-bob', shareRecipientType: 'user', role: 'OWNER' },
      { id: groupId, name: 'data-science', shareRecipientType: 'group', role: 'CONSUMER' },
    ]);
    const w = (await owner.api.get(`/api/v2/workloads/${workloadId}`)).body;
    expect(w.owners).toEqual([{ id: owner.id, username: 's-owner' }, { id: bob.id, username: 's-bob' }]);

    // Bob, now an owner, takes the owner's share away (replace semantics: what is not sent goes too).
    const byBob = await patch({ operation: 'updateRoles', roles: [{ shareRecipientType: 'user', role: 'OWNER', id: bob.id }, { shareRecipientType: 'user', role: 'USER', id: owner.id }, { shareRecipientType: 'group', role: 'NO_ROLE', id: groupId }] }, bob.api);
    expect(byBob.status).toBe(204);
    expect((await bob.api.get(`/api/v2/workloads/${workloadId}/sharedRoles`)).body.data).toEqual([
      { id: bob.id, name: 's-bob', shareRecipientType: 'user', role: 'OWNER' },
      { id: owner.id, name: 's-owner', shareRecipientType: 'user', role: 'USER' },
    ]);
    const events = (await bob.api.get(`/api/v2/workloads/${workloadId}/events?limit=100`)).body.data.filter((e: any) => e.eventType === 'Shared Roles Updated');
    expect(events).toHaveLength(2);
    expect(events[0]).toMatchObject({
      actorId: bob.id,
      details: {
        updatedBy: { id: bob.id, username: 's-bob' },
        before: [{ id: owner.id, role: 'OWNER' }, { id: bob.id, role: 'OWNER' }, { id: groupId, role: 'CONSUMER' }],
        after: [{ id: bob.id, role: 'OWNER' }, { id: owner.id, role: 'USER' }],
      },
    });
    expect(events[1]).toMatchObject({ actorId: owner.id, details: { before: [{ id: owner.id, role: 'OWNER' }], after: expect.any(Array) } });

    // The owner, now a USER, may read the roles but not change them; give ownership back.
    expect(await patch({ operation: 'updateRoles', roles: [me()] })).toMatchObject({ status: 403, body: { detail: expect.stringContaining('CAN_SHARE') } });
    expect((await patch({ operation: 'updateRoles', roles: [me()] }, bob.api)).status).toBe(204);
    expect((await roles()).data).toEqual([{ id: owner.id, name: 's-owner', shareRecipientType: 'user', role: 'OWNER' }]);
  });

  it('resolves access through groups and organizations: the strongest role wins', async () => {
    const member = await createUser(system, 's-member', { groupIds: [groupId], orgId });
    const outsider = await createUser(system, 's-outsider');
    expect((await patch({ operation: 'updateRoles', roles: [me(), { shareRecipientType: 'organization', role: 'CONSUMER', id: orgId }] })).status).toBe(204);
    const asMember = () => member.api.get(`/api/v2/workloads/${workloadId}`);
    const consumer = await waitFor(async () => {
      const r = await asMember();
      return r.status === 200 ? r.body : undefined;
    }, 'org share visible', CACHE_MS + 3000);
    expect(consumer.permissions.sort()).toEqual(['CAN_INVOKE', 'CAN_VIEW']);
    expect((await member.api.get(`/api/v2/workloads/${workloadId}/settings`)).status).toBe(403);
    expect((await member.api.post(`/api/v2/endpoints/workloads/${workloadId}/predict`, { x: 1 })).status).toBe(200);
    expect((await outsider.api.get(`/api/v2/workloads/${workloadId}`)).status).toBe(404);

    // The group as USER and the organization as CONSUMER: the member is a USER.
    expect((await patch({ operation: 'updateRoles', roles: [me(), { shareRecipientType: 'organization', role: 'CONSUMER', id: orgId }, { shareRecipientType: 'group', role: 'USER', id: groupId }] })).status).toBe(204);
    const user = await waitFor(async () => {
      const r = await asMember();
      return r.body?.permissions?.includes('CAN_READ_DETAILS') ? r.body : undefined;
    }, 'group role visible', CACHE_MS + 3000);
    expect(user.permissions.sort()).toEqual(['CAN_INVOKE', 'CAN_READ_DETAILS', 'CAN_VIEW']);
    expect((await member.api.get(`/api/v2/workloads/${workloadId}/settings`)).status).toBe(200);
    expect((await member.api.get(`/api/v2/workloads?ids=${workloadId}`)).body.totalCount).toBe(1);
    expect((await outsider.api.get(`/api/v2/workloads?ids=${workloadId}`)).body.totalCount).toBe(0);
  });

  it('changes access as soon as a membership changes (on the gateway that changed it)', async () => {
    const member = await createUser(system, 's-mover', { groupIds: [groupId] });
    expect((await patch({ operation: 'updateRoles', roles: [me(), { shareRecipientType: 'group', role: 'USER', id: groupId }] })).status).toBe(204);
    await waitFor(async () => (await member.api.get(`/api/v2/workloads/${workloadId}`)).status === 200, 'group share visible', CACHE_MS + 3000);

    const left = await admin.patch(`/api/v2/admin/users/${member.id}`, { groupIds: [] });
    expect(left).toMatchObject({ status: 200, body: { id: member.id, username: 's-mover', groupIds: [] } });
    await waitFor(async () => (await member.api.get(`/api/v2/workloads/${workloadId}`)).status === 404, 'access gone after leaving the group', CACHE_MS);

    const joined = await admin.patch(`/api/v2/admin/users/${member.id}`, { groupIds: [groupId], orgId, fullName: 'Mo Ver' });
    expect(joined).toMatchObject({ status: 200, body: { groupIds: [groupId], orgId, fullName: 'Mo Ver' } });
    await waitFor(async () => (await member.api.get(`/api/v2/workloads/${workloadId}`)).status === 200, 'access back after joining', CACHE_MS);

    expect(await admin.patch(`/api/v2/admin/users/${member.id}`, { groupIds: ['abcdefabcdefabcdefabcdef'] })).toMatchObject({ status: 404, body: { detail: 'Group abcdefabcdefabcdefabcdef was not found.' } });
    expect(await admin.patch(`/api/v2/admin/users/${member.id}`, { orgId: 'abcdefabcdefabcdefabcdef' })).toMatchObject({ status: 404, body: { detail: 'Organization abcdefabcdefabcdefabcdef was not found.' } });
    expect(await admin.patch('/api/v2/admin/users/abcdefabcdefabcdefabcdef', {})).toMatchObject({ status: 404, body: { detail: 'User abcdefabcdefabcdefabcdef was not found.' } });
    expect((await admin.post('/api/v2/admin/users', { username: 's-nogroup', groupIds: ['abcdefabcdefabcdefabcdef'] })).status).toBe(404);
    expect((await member.api.patch(`/api/v2/admin/users/${member.id}`, { groupIds: [] })).status).toBe(403);
    expect((await admin.get('/api/v2/admin/orgs')).body.data).toEqual(expect.arrayContaining([{ id: orgId, name: 'acme', createdAt: expect.any(String) }]));
    expect((await admin.get('/api/v2/admin/groups')).body.data).toEqual(expect.arrayContaining([{ id: groupId, name: 'data-science', createdAt: expect.any(String) }]));
  });

  // The aggregate's own re-check, with the gateway's view held stale, is proven against Kafka in
  // workload-service's command.consumer.int.spec.ts; here, through the whole system.
  it('lets no command of a caller through once their share is removed', async () => {
    const created = await owner.api.post('/api/v2/workloads', { name: 'race', artifact: echoArtifact('race-v1') });
    const raceId = created.body.id;
    expect((await patch({ operation: 'updateRoles', roles: [me(), { shareRecipientType: 'user', role: 'OWNER', id: carol.id }] }, owner.api, raceId)).status).toBe(204);
    await waitFor(async () => (await carol.api.get(`/api/v2/workloads/${raceId}`)).status === 200, 'carol sees the workload', CACHE_MS + 3000);

    // Carol keeps renaming while the owner takes her share away.
    const answers: number[] = [];
    let stop = false;
    const renames = (async () => {
      for (let i = 0; !stop; i++) answers.push((await carol.api.patch(`/api/v2/workloads/${raceId}`, { description: `carol ${i}` })).status);
    })();
    await waitFor(() => answers.length >= 3, 'renames under way', 10_000, 10);
    expect((await patch({ operation: 'updateRoles', roles: [me()] }, owner.api, raceId)).status).toBe(204);
    const afterRemoval = answers.length;
    await waitFor(() => answers.length >= afterRemoval + 3, 'renames after the removal', 10_000, 10);
    stop = true;
    await renames;

    // Every rename after the removal is refused (404: she cannot see it any more), and no
    // accepted one is ordered after the removal in the workload's history.
    expect(answers.slice(afterRemoval)).toEqual(answers.slice(afterRemoval).map(() => 404));
    expect(answers.slice(0, 3)).toEqual([200, 200, 200]);
    const events = (await owner.api.get(`/api/v2/workloads/${raceId}/events?limit=100`)).body.data.reverse();
    const removal = events.findIndex((e: any) => e.eventType === 'Shared Roles Updated' && e.details.after.length === 1);
    expect(removal).toBeGreaterThan(0);
    expect(events.slice(removal).filter((e: any) => e.actorId === carol.id)).toEqual([]);
    expect(events.slice(0, removal).filter((e: any) => e.actorId === carol.id).length).toBeGreaterThanOrEqual(3);
  });
});

describe('sharing across gateway instances (distributed, default caches)', () => {
  let system: System;

  beforeAll(async () => {
    system = await startDistributedSystem();
  }, 180_000);

  afterAll(async () => {
    await system?.stop();
  });

  it('a change made through one gateway reaches another within 2 s', async () => {
    const other = await system.addGateway!();
    const group = (await system.api.post('/api/v2/admin/groups', { name: 'far' })).body.id;
    const owner = await createUser(system, 'far-owner');
    const member = await createUser(system, 'far-member', { groupIds: [group] });
    const far = new ApiClient(other, member.token);
    const created = await owner.api.post('/api/v2/workloads', { name: 'far', artifact: echoArtifact('far-v1') });
    expect(created.status).toBe(201);
    const get = async () => (await far.get(`/api/v2/workloads/${created.body.id}`)).status;
    expect(await get()).toBe(404);

    const share = (roles: unknown[]) => owner.api.patch(`/api/v2/workloads/${created.body.id}/sharedRoles`, { operation: 'updateRoles', roles });
    const ownerRole = { shareRecipientType: 'user', role: 'OWNER', id: owner.id };
    expect((await share([ownerRole, { shareRecipientType: 'group', role: 'USER', id: group }])).status).toBe(204);
    await waitFor(async () => (await get()) === 200, 'the share seen through the other gateway', 2000, 50);

    expect((await system.api.patch(`/api/v2/admin/users/${member.id}`, { groupIds: [] })).status).toBe(200);
    await waitFor(async () => (await get()) === 404, 'leaving the group seen through the other gateway', 2000, 50);

    expect((await system.api.patch(`/api/v2/admin/users/${member.id}`, { groupIds: [group] })).status).toBe(200);
    await waitFor(async () => (await get()) === 200, 'joining again seen through the other gateway', 2000, 50);
    expect((await share([ownerRole])).status).toBe(204);
    await waitFor(async () => (await get()) === 404, 'the removed share seen through the other gateway', 2000, 50);
  });
});

describe('rate limits: the data plane apart from the control plane', () => {
  let system: System;

  beforeAll(async () => {
    system = await startEmbeddedSystem({ RATE_LIMIT_PER_MINUTE: '40', DATA_PLANE_RATE_LIMIT_PER_MINUTE: '100' });
  }, 120_000);

  afterAll(async () => {
    await system?.stop();
  });

  it('limits each plane per token with its own budget, answering 429 with Retry-After', async () => {
    const created = await system.api.post('/api/v2/workloads', { name: 'limited', artifact: echoArtifact('limited-v1') });
    expect(created.status).toBe(201);
    const user = await createUser(system, 'limited-user');
    // Share so that the limited user can invoke it, with the admin's own budget.
    expect((await system.api.patch(`/api/v2/workloads/${created.body.id}/sharedRoles`, {
      operation: 'updateRoles',
      roles: [{ shareRecipientType: 'user', role: 'OWNER', username: 'admin' }, { shareRecipientType: 'user', role: 'CONSUMER', id: user.id }],
    })).status).toBe(204);
    // Slow polling: the admin has 40 control requests a minute too.
    await waitFor(async () => (await system.api.get(`/api/v2/workloads/${created.body.id}`)).body?.status === 'running', 'running', 60_000, 1000);

    const control: number[] = [];
    for (let i = 0; i < 45; i++) control.push((await user.api.get('/api/v2/version')).status);
    expect(control.filter((s) => s === 429).length).toBeGreaterThan(0);
    const limited = await user.api.get('/api/v2/version');
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);

    // The control plane is exhausted; the data plane still has its own 100.
    const data: number[] = [];
    for (let i = 0; i < 110; i++) data.push((await user.api.post(`/api/v2/endpoints/workloads/${created.body.id}/predict`, { i })).status);
    expect(data.slice(0, 90)).toEqual(data.slice(0, 90).map(() => 200));
    expect(data.slice(100)).toContain(429);
    const over = await user.api.post(`/api/v2/endpoints/workloads/${created.body.id}/predict`, {});
    expect(over.status).toBe(429);
    expect(Number(over.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  });
});
