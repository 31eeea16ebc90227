import { waitFor } from '@wcp/testing';
import { adminUser, stopAndWait, waitForStatus } from './api.helpers';
import { echoArtifact, startEmbeddedSystem, System } from './system.harness';

const Mi = 1024 ** 2;
const runtimeOf = (memory: string) => ({ containerGroups: [{ name: 'default', replicaCount: 1, containers: [{ name: 'main', resourceAllocation: { cpu: 0.5, memory } }] }] });

// Capacity for one 768 MiB workload, or one 512 MiB one, never both (1 GiB in all).
describe('runtime capacity admission — embedded', () => {
  let system: System;

  beforeAll(async () => {
    system = await startEmbeddedSystem({ RUNTIME_MAX_MEMORY: '1Gi', RUNTIME_MAX_REPLICAS: '4' });
    await adminUser(system);
  });

  afterAll(async () => {
    await system?.stop();
  });

  it('reports which enforcement the runtime uses in the gateway health', async () => {
    const health = await system.api.get('/api/v2/health');
    expect(health.status).toBe(200);
    expect(health.body.components.runtimeResources).toEqual({ memory: expect.stringMatching(/^(cgroup-v2|cgroup-v1|rss-watchdog|none)$/), cpu: expect.stringMatching(/^(cgroup-v2|cgroup-v1|reported-only)$/), detail: expect.any(String) });
  });

  it('refuses a start beyond the capacity with 403 and a detail, leaves the workload stopped, and admits it once capacity is free', async () => {
    const api = system.api;
    const big = await api.post('/api/v2/workloads', { artifact: echoArtifact('big'), name: 'big', runtime: runtimeOf('768Mi') });
    expect(big.status).toBe(201);
    await waitForStatus(api, big.body.id, 'running', 60_000);
    await stopAndWait(api, big.body.id, 60_000);

    const small = await api.post('/api/v2/workloads', { artifact: echoArtifact('small'), name: 'small', runtime: runtimeOf('512Mi') });
    expect(small.status).toBe(201);
    await waitForStatus(api, small.body.id, 'running', 60_000);

    // A running workload's new runtime must fit too; refused, it keeps running on the old one.
    const grow = await api.patch(`/api/v2/workloads/${small.body.id}/settings`, { runtime: runtimeOf('1536Mi') });
    expect(grow.status).toBe(403);
    expect(grow.body.detail).toContain(`memory ${1536 * Mi} bytes requested, 0 of ${1024 * Mi} bytes in use`);
    expect((await api.get(`/api/v2/workloads/${small.body.id}/settings`)).body).toMatchObject({ replacement: null, runtime: { containerGroups: [{ containers: [{ resourceAllocation: { memory: 512 * Mi } }] }] } });

    const eventsBefore = (await api.get(`/api/v2/workloads/${big.body.id}/events?limit=100`)).body.data;
    const refused = await api.post(`/api/v2/workloads/${big.body.id}/start`);
    expect(refused.status).toBe(403);
    expect(refused.body).toEqual({ detail: expect.stringContaining(`memory ${768 * Mi} bytes requested, ${512 * Mi} of ${1024 * Mi} bytes in use`) });
    const after = await api.get(`/api/v2/workloads/${big.body.id}`);
    expect(after.body.status).toBe('stopped');
    // Nothing was recorded for the refused start.
    expect((await api.get(`/api/v2/workloads/${big.body.id}/events?limit=100`)).body.data).toEqual(eventsBefore);

    // Creating is deploying: refused the same way, and nothing is created.
    const third = await api.post('/api/v2/workloads', { artifact: echoArtifact('third'), name: 'third', runtime: runtimeOf('768Mi') });
    expect(third.status).toBe(403);
    expect(third.body.detail).toMatch(/exceed the runtime's capacity/);
    expect((await api.get('/api/v2/workloads?search=third')).body.data).toEqual([]);

    await stopAndWait(api, small.body.id, 60_000);
    const admitted = await api.post(`/api/v2/workloads/${big.body.id}/start`);
    expect(admitted.status).toBe(202);
    await waitForStatus(api, big.body.id, 'running', 60_000);
    await stopAndWait(api, big.body.id, 60_000);
  });

  it('admits exactly what fits when creates race for the last capacity, and gives it back on stop', async () => {
    const api = system.api;
    // Four at once, 512 MiB each, 1 GiB in all: the ledger orders them, so exactly two deploy whatever the partitions.
    const created = await Promise.all([0, 1, 2, 3].map((i) => api.post('/api/v2/workloads', { artifact: echoArtifact(`race-${i}`), name: `race-${i}`, runtime: runtimeOf('512Mi') })));
    const statuses = created.map((r) => r.status).sort();
    expect(statuses).toEqual([201, 201, 403, 403]);
    for (const refused of created.filter((r) => r.status === 403)) expect(refused.body.detail).toMatch(/exceed the runtime's capacity/);
    const admitted = created.filter((r) => r.status === 201).map((r) => r.body.id as string);
    for (const id of admitted) await waitForStatus(api, id, 'running', 60_000);
    // A stop gives the capacity back at once: the whole 1 GiB is free for one workload.
    for (const id of admitted) await stopAndWait(api, id, 60_000);
    const whole = await api.post('/api/v2/workloads', { artifact: echoArtifact('whole'), name: 'whole', runtime: runtimeOf('1Gi') });
    expect(whole.status).toBe(201);
    await stopAndWait(api, whole.body.id, 60_000);
  });

  it('kills a replica that allocates past its memory limit, shows OOMKilled (137) in its container status and an event, and restarts it', async () => {
    const api = system.api;
    const enforcement = (await api.get('/api/v2/health')).body.components.runtimeResources;
    const artifact = {
      name: 'hog',
      spec: { containerGroups: [{ name: 'default', containers: [{ name: 'main', primary: true, imageUri: 'local/memory-hog:1', port: 8000, environmentVars: [{ name: 'ALLOC_MB', value: '512' }, { name: 'ALLOC_AFTER_MS', value: '500' }] }] }] },
    };
    const hog = await api.post('/api/v2/workloads', { artifact, name: 'hog', runtime: runtimeOf('128Mi') });
    expect(hog.status).toBe(201);
    if (enforcement.memory === 'none') {
      // Skip-free: a host that can enforce nothing says so, and the replica keeps running unlimited.
      expect(enforcement.detail).toMatch(/not enforced|turned off/);
      await stopAndWait(api, hog.body.id, 60_000);
      return;
    }
    const protonId = await waitFor(async () => (await api.get(`/api/v2/workloads/${hog.body.id}/protons`)).body.data?.[0]?.id, 'proton', 30_000);
    const container = await waitFor(async () => {
      const details = await api.get(`/api/v2/workloads/${hog.body.id}/protons/${protonId}/statusDetails`);
      const c = details.body.replicas?.[0]?.containers?.[0];
      return c?.lastState?.reason === 'OOMKilled' ? c : undefined;
    }, 'an OOMKilled container', 30_000, 200);
    expect(container).toMatchObject({ restartCount: expect.any(Number), lastState: { status: 'terminated', reason: 'OOMKilled', exitCode: 137 } });
    expect(container.restartCount).toBeGreaterThanOrEqual(1);
    const kernel = enforcement.memory.startsWith('cgroup-');
    expect(container.lastState.message).toMatch(kernel ? /OOM killer at the memory limit of 134217728 bytes/ : /exceeded the limit of 134217728 bytes/);
    const events = (await api.get(`/api/v2/workloads/${hog.body.id}/events?limit=100`)).body.data as Array<{ eventType: string; details: { reason?: string; exitCode?: number } }>;
    expect(events.find((e) => e.eventType === 'Replica Restarted')?.details).toMatchObject({ reason: 'OOMKilled', exitCode: 137 });
    await stopAndWait(api, hog.body.id, 60_000);
  });
});
