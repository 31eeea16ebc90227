import { ApiClient, ApiResponse, waitFor } from '@wcp/testing';
import type { System } from './system.harness';

/** Shapes the API promises everywhere (API.md §1). */
export const ID = /^[0-9a-f]{24}$/;
export const TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
export const ACTIVE_STATUSES = ['submitted', 'provisioning', 'launching', 'running'];
export const OWNER_PERMISSIONS = ['CAN_VIEW', 'CAN_UPDATE', 'CAN_DELETE', 'CAN_SHARE', 'CAN_INVOKE'];
export const EVENT_TYPES = [
  'Workload Created', 'Workload Updated', 'Start Requested', 'Stop Requested', 'Status Changed',
  'Settings Updated', 'Replacement Started', 'Replacement Completed', 'Replacement Errored',
  'Replacement Canceled', 'Artifact Promoted', 'Shared Roles Updated', 'Stats Reset',
  'Replica Restarted', 'Proton Errored', 'Proton Scaled', 'Workload Deleted',
];

export interface TestUser {
  id: string;
  username: string;
  token: string;
  api: ApiClient;
}

/** A user made through `POST /admin/users`, with a client that acts as them once their token resolves. */
export async function createUser(system: System, username: string, extra: Record<string, unknown> = {}): Promise<TestUser> {
  const created = await system.api.post('/api/v2/admin/users', { username, ...extra });
  if (created.status !== 201) throw new Error(`creating user ${username}: ${created.status} ${JSON.stringify(created.body)}`);
  const api = system.api.as(created.body.apiToken);
  await waitFor(async () => (await api.get('/api/v2/workloads?limit=1')).status === 200, `token of ${username}`, 10_000);
  return { id: created.body.id, username, token: created.body.apiToken, api };
}

/** The admin of BOOTSTRAP_API_TOKEN as a user record. */
export async function adminUser(system: System): Promise<{ id: string; username: string }> {
  const users = await system.api.get('/api/v2/admin/users?limit=100');
  const admin = users.body.data.find((u: any) => u.username === 'admin');
  if (!admin) throw new Error(`no admin user in ${JSON.stringify(users.body)}`);
  return admin;
}

/** fetch without following redirects, so a 3xx shows as itself. */
export async function rawRequest(baseUrl: string, method: string, path: string, token?: string, body?: unknown): Promise<ApiResponse> {
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    redirect: 'manual',
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    // non-JSON stays text
  }
  return { status: response.status, body: parsed, headers: response.headers };
}

/** A query string from ordered pairs, so repeated keys stay repeated. */
export function queryString(pairs: Array<[string, string]>): string {
  return pairs.length === 0 ? '' : `?${new URLSearchParams(pairs).toString()}`;
}

/** Every item of a list, walking `next` links (which must stay on the same base URL). */
export async function listAll(api: ApiClient, path: string): Promise<any[]> {
  const items: any[] = [];
  let url: string | null = `${path}${path.includes('?') ? '&' : '?'}limit=100`;
  for (let guard = 0; url && guard < 100; guard++) {
    const page: ApiResponse = await api.get(url);
    if (page.status !== 200) throw new Error(`GET ${url}: ${page.status} ${JSON.stringify(page.body)}`);
    items.push(...page.body.data);
    url = page.body.next ? page.body.next.slice(api.baseUrl.length) : null;
  }
  return items;
}

/** The 422 shape: `detail` is a list of `{loc, msg, type}`; returns it for further checks. */
export function expectValidationError(response: ApiResponse, expected?: { loc?: Array<string | number>; type?: string }): any[] {
  expect(response.status).toBe(422);
  expect(Array.isArray(response.body?.detail)).toBe(true);
  for (const d of response.body.detail) {
    expect(d).toEqual({ loc: expect.any(Array), msg: expect.any(String), type: expect.any(String) });
    expect(['body', 'query', 'path']).toContain(d.loc[0]);
  }
  if (expected) expect(response.body.detail).toEqual(expect.arrayContaining([expect.objectContaining(expected)]));
  return response.body.detail;
}

/** Any non-validation error: `{ "detail": "<message>" }`. */
export function expectError(response: ApiResponse, status: number): void {
  expect({ status: response.status, body: response.body }).toEqual({ status, body: { detail: expect.any(String) } });
}

/** Events of a workload once two readings 500 ms apart agree (the runtime appends on its own). */
export async function settledEvents(api: ApiClient, workloadId: string, timeoutMs = 30_000): Promise<any[]> {
  let last = '';
  return waitFor(
    async () => {
      const page = await api.get(`/api/v2/workloads/${workloadId}/events?limit=100`);
      const now = JSON.stringify(page.body.data);
      const same = now === last;
      last = now;
      if (!same) await new Promise((r) => setTimeout(r, 500));
      return same ? page.body.data : undefined;
    },
    `events of ${workloadId} to settle`,
    timeoutMs,
    0,
  );
}

/** A workload once a GET shows it in `status`, as that GET read it. */
export async function waitForStatus(api: ApiClient, workloadId: string, status: string, timeoutMs = 30_000): Promise<any> {
  return waitFor(
    async () => {
      const w = (await api.get(`/api/v2/workloads/${workloadId}`)).body;
      return w?.status === status ? w : undefined;
    },
    `workload ${workloadId} to be ${status}`,
    timeoutMs,
    25,
  );
}

/**
 * Stops a workload (202, or 200 when it is stopped already) and waits until it is `stopped`:
 * its replicas are gone, its slot of the per-owner limit is free and its status no longer moves.
 */
export async function stopAndWait(api: ApiClient, workloadId: string, timeoutMs = 30_000): Promise<any> {
  const stop = await api.post(`/api/v2/workloads/${workloadId}/stop`);
  if (stop.status !== 202 && stop.status !== 200) throw new Error(`stop ${workloadId}: ${stop.status} ${JSON.stringify(stop.body)}`);
  return waitForStatus(api, workloadId, 'stopped', timeoutMs);
}
