import type { Actor } from '@wcp/contracts';
import { accessRefusal, effectiveRole, Grants, permissionsOf, ROLE_PERMISSIONS } from './permissions';
import { policyFor, ROUTE_POLICY } from './route-policy';

const ids = { owner: 'a'.repeat(24), user: 'b'.repeat(24), group: 'c'.repeat(24), org: 'd'.repeat(24), stranger: 'e'.repeat(24) };
const actor = (id: string, extra: Partial<Actor> = {}): Actor => ({ id, username: id.slice(0, 3), isAdmin: false, groupIds: [], orgId: null, ...extra });
const grants: Grants = { [ids.owner]: 'OWNER', [ids.user]: 'USER', [ids.group]: 'USER', [ids.org]: 'CONSUMER' };
const W = 'f'.repeat(24);

describe('access policy', () => {
  it('takes the strongest of the direct, group and organization roles', () => {
    expect(effectiveRole(grants, actor(ids.owner))).toBe('OWNER');
    expect(effectiveRole(grants, actor(ids.stranger, { orgId: ids.org }))).toBe('CONSUMER');
    expect(effectiveRole(grants, actor(ids.stranger, { orgId: ids.org, groupIds: [ids.group] }))).toBe('USER');
    expect(effectiveRole(grants, actor(ids.user, { orgId: ids.org }))).toBe('USER');
    expect(effectiveRole({ ...grants, [ids.org]: 'OWNER' }, actor(ids.user, { orgId: ids.org }))).toBe('OWNER');
    expect(effectiveRole(grants, actor(ids.stranger))).toBeNull();
    expect(effectiveRole({}, actor(ids.stranger, { isAdmin: true }))).toBe('OWNER');
  });

  it('hides a workload from a caller without a role (404) and names a missing permission (403)', () => {
    expect(accessRefusal(grants, actor(ids.stranger), 'CAN_VIEW', W)).toEqual({ kind: 'not_found', code: 'WORKLOAD_NOT_FOUND', message: `Workload ${W} was not found.` });
    expect(accessRefusal(grants, actor(ids.stranger), 'CAN_DELETE', W)?.kind).toBe('not_found');
    const forbidden = accessRefusal(grants, actor(ids.stranger, { orgId: ids.org }), 'CAN_READ_DETAILS', W);
    expect(forbidden).toMatchObject({ kind: 'forbidden', code: 'WORKLOAD_FORBIDDEN' });
    expect(forbidden?.message).toContain('CAN_READ_DETAILS');
    expect(accessRefusal(grants, actor(ids.user), 'CAN_INVOKE', W)).toBeNull();
  });

  it('shows as permissions exactly what it lets through', () => {
    const callers = [actor(ids.owner), actor(ids.user), actor(ids.stranger, { orgId: ids.org }), actor(ids.stranger), actor(ids.stranger, { isAdmin: true })];
    for (const caller of callers) {
      const shown = permissionsOf(grants, caller);
      for (const permission of ROLE_PERMISSIONS.OWNER) expect([permission, accessRefusal(grants, caller, permission, W) === null]).toEqual([permission, shown.includes(permission)]);
    }
  });

  it('finds the rule of a route with or without a trailing slash, HEAD as GET, and none for an unknown route', () => {
    expect(policyFor('GET', '/api/v2/workloads/:id/')).toEqual({ auth: 'workload', param: 'id', permission: 'CAN_VIEW', by: 'workload-service' });
    expect(policyFor('HEAD', '/api/v2/health')).toEqual({ auth: 'public' });
    expect(policyFor('PUT', '/api/v2/endpoints/workloads/:workloadId/*')).toEqual({ auth: 'workload', param: 'workloadId', permission: 'CAN_INVOKE', by: 'gateway' });
    expect(policyFor('PUT', '/api/v2/workloads/:id')).toBeNull();
    for (const [key, rule] of Object.entries(ROUTE_POLICY)) {
      expect(key).toMatch(/^(GET|POST|PATCH|DELETE|ANY) \/api\/v2\//);
      if (rule.auth === 'workload') expect(key).toContain(`:${rule.param}`);
    }
  });
});
