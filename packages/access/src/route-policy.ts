import type { Permission } from '@wcp/contracts';

/**
 * Who may call a route:
 * - `public`: anyone, no token;
 * - `token`: any valid token; what the caller then sees is filtered by the same rules (lists,
 *   the global stats, artifacts, which are their creator's);
 * - `admin`: administrators only;
 * - `workload`: the workload named by path parameter `param` must grant `permission`. Where
 *   `by` is `workload-service`, that service decides it: its aggregate on the command's own
 *   stream, its queries on the document they read anyway, with the same `accessRefusal`, so the
 *   gateway does not look the grants up a second time (one internal call and one read less per
 *   request). Routes served elsewhere (statistics, logs, the data plane) are decided by the gateway.
 */
export type RouteRule =
  | { auth: 'public' }
  | { auth: 'token' }
  | { auth: 'admin' }
  | { auth: 'workload'; param: string; permission: Permission; by: 'gateway' | 'workload-service' };

const PUBLIC: RouteRule = { auth: 'public' };
const TOKEN: RouteRule = { auth: 'token' };
const ADMIN: RouteRule = { auth: 'admin' };
/** A workload route the workload service serves, and so decides. */
const on = (permission: Permission): RouteRule => ({ auth: 'workload', param: 'id', permission, by: 'workload-service' });
/** A workload route served by another service: the gateway decides it with the grants it looks up. */
const gated = (permission: Permission, param = 'id'): RouteRule => ({ auth: 'workload', param, permission, by: 'gateway' });

const W = '/api/v2/workloads/:id';
const DATA_PLANE = '/api/v2/endpoints/workloads/:workloadId';

/**
 * Every route the gateway serves, keyed `METHOD path` as the router registers it (`ANY` for
 * the data plane's every-method routes). The gateway refuses to boot while a route it serves
 * is missing here, and the authorization matrix test is generated from this table and the
 * role table, so neither can drift from what is enforced.
 */
export const ROUTE_POLICY: Readonly<Record<string, RouteRule>> = {
  'GET /api/v2/health': PUBLIC,
  'GET /api/v2/version': TOKEN,
  'GET /api/v2/openapi.json': TOKEN,
  // The API browser: a static page and the vendored UI it loads; it fetches the document with the caller's token.
  'GET /api/v2/docs': PUBLIC,
  'GET /api/v2/docs/:asset': PUBLIC,

  'POST /api/v2/workloads': TOKEN,
  'GET /api/v2/workloads': TOKEN,
  'GET /api/v2/workloads/stats': TOKEN,
  [`GET ${W}`]: on('CAN_VIEW'),
  [`PATCH ${W}`]: on('CAN_UPDATE'),
  [`DELETE ${W}`]: on('CAN_DELETE'),
  [`POST ${W}/start`]: on('CAN_UPDATE'),
  [`POST ${W}/stop`]: on('CAN_UPDATE'),
  [`GET ${W}/events`]: on('CAN_READ_DETAILS'),
  [`GET ${W}/related`]: on('CAN_READ_DETAILS'),
  [`GET ${W}/protons`]: on('CAN_READ_DETAILS'),
  [`GET ${W}/protons/:protonId`]: on('CAN_READ_DETAILS'),
  [`GET ${W}/protons/:protonId/statusDetails`]: on('CAN_READ_DETAILS'),
  [`GET ${W}/settings`]: on('CAN_READ_DETAILS'),
  [`PATCH ${W}/settings`]: on('CAN_UPDATE'),
  [`POST ${W}/replacement`]: on('CAN_UPDATE'),
  [`GET ${W}/replacement`]: on('CAN_READ_DETAILS'),
  [`DELETE ${W}/replacement`]: on('CAN_UPDATE'),
  [`POST ${W}/replacement/resume`]: on('CAN_UPDATE'),
  [`GET ${W}/history`]: on('CAN_READ_DETAILS'),
  [`POST ${W}/promote`]: on('CAN_UPDATE'),
  [`GET ${W}/stats`]: gated('CAN_READ_DETAILS'),
  [`GET ${W}/stats/:metricName`]: gated('CAN_READ_DETAILS'),
  [`DELETE ${W}/stats`]: gated('CAN_UPDATE'),
  [`GET ${W}/sharedRoles`]: on('CAN_READ_DETAILS'),
  [`PATCH ${W}/sharedRoles`]: on('CAN_SHARE'),
  'GET /api/v2/otel/workload/:id/logs': gated('CAN_READ_DETAILS'),
  [`ANY ${DATA_PLANE}`]: gated('CAN_INVOKE', 'workloadId'),
  [`ANY ${DATA_PLANE}/*`]: gated('CAN_INVOKE', 'workloadId'),

  'POST /api/v2/artifacts': TOKEN,
  'GET /api/v2/artifacts': TOKEN,
  'GET /api/v2/artifacts/:id': TOKEN,
  'PATCH /api/v2/artifacts/:id': TOKEN,
  'DELETE /api/v2/artifacts/:id': TOKEN,

  'POST /api/v2/admin/users': ADMIN,
  'GET /api/v2/admin/users': ADMIN,
  'PATCH /api/v2/admin/users/:id': ADMIN,
  'POST /api/v2/admin/groups': ADMIN,
  'GET /api/v2/admin/groups': ADMIN,
  'POST /api/v2/admin/orgs': ADMIN,
  'GET /api/v2/admin/orgs': ADMIN,
};

/** The rule of a registered route, or null: a route without one is refused (deny by default). */
export function policyFor(method: string, routePath: string): RouteRule | null {
  const path = routePath.length > 1 ? routePath.replace(/\/+$/, '') : routePath;
  // HEAD is served by every GET route (the router adds it) and needs what GET needs.
  const verb = method.toUpperCase() === 'HEAD' ? 'GET' : method.toUpperCase();
  return ROUTE_POLICY[`${verb} ${path}`] ?? ROUTE_POLICY[`ANY ${path}`] ?? null;
}
