import { waitFor } from '@wcp/testing';
import { replicaPid, replicaProcesses } from './replica-processes';
import { startDistributedSystem, startEmbeddedSystem, System } from './system.harness';

const RUNTIME_ENV = { REPLICA_READY_TIMEOUT_MS: '4000', REPLICA_MAX_RESTARTS: '2', STOP_GRACE_MS: '3000' };

const artifact = (imageUri: string, env: Array<{ name: string; value: string }> = []) => ({
  name: imageUri.replace(/[^a-z0-9]+/g, '-'),
  spec: { containerGroups: [{ name: 'default', containers: [{ name: 'main', primary: true, imageUri, port: 8000, environmentVars: env }] }] },
});

const runtime = (replicaCount: number) => ({
  containerGroups: [{ name: 'default', replicaCount, containers: [{ name: 'main', resourceAllocation: { cpu: 1, memory: '256Mi' } }] }],
});

/** A create deploys: 201 `submitted` with its proton; the runtime takes it from there. */
async function createDeployed(system: System, name: string, imageUri: string, replicas: number, env: Array<{ name: string; value: string }> = []) {
  const created = await system.api.post('/api/v2/workloads', { name, artifact: artifact(imageUri, env), runtime: runtime(replicas) });
  expect(created.status).toBe(201);
  expect(created.body).toMatchObject({ status: 'submitted', protonId: expect.stringMatching(/^[0-9a-f]{24}$/) });
  return created.body.id as string;
}

async function waitForStatus(system: System, id: string, status: string, timeoutMs = 30_000) {
  return waitFor(async () => {
    const w = (await system.api.get(`/api/v2/workloads/${id}`)).body;
    return w.status === status ? w : undefined;
  }, `workload ${id} to be ${status}`, timeoutMs, 200);
}

async function eventTypes(system: System, id: string): Promise<string[]> {
  return (await system.api.get(`/api/v2/workloads/${id}/events?limit=100`)).body.data.map((e: { eventType: string }) => e.eventType);
}

describe('protons run for real (embedded)', () => {
  let system: System;

  beforeAll(async () => {
    system = await startEmbeddedSystem(RUNTIME_ENV);
  }, 120_000);

  afterAll(async () => {
    await system?.stop();
  });

  it('runs two echo replicas, restarts a killed one and reports it', async () => {
    const id = await createDeployed(system, 'echo-two', 'local/echo-model:1', 2);
    const w = await waitForStatus(system, id, 'running');
    const protons = await system.api.get(`/api/v2/workloads/${id}/protons`);
    expect(protons.body).toMatchObject({ totalCount: 1, data: [{ id: w.protonId, role: 'active', status: 'running', workloadId: id }] });
    expect(protons.body.data[0].endpoint).toBe(`${system.baseUrl}/api/v2/endpoints/workloads/${id}/?protonId=${w.protonId}`);
    const related = (await system.api.get(`/api/v2/workloads/${id}/related`)).body;
    expect(related.data.map((r: { type: string; id: string }) => [r.type, r.id])).toEqual([
      ['artifact', w.artifactId],
      ['proton', w.protonId],
    ]);

    const details = await system.api.get(`/api/v2/workloads/${id}/protons/${w.protonId}/statusDetails`);
    expect(details.status).toBe(200);
    expect(details.body.overallStatus.state).toBe('running');
    expect(details.body.replicas).toHaveLength(2);
    for (const r of details.body.replicas) {
      expect(r).toMatchObject({ status: 'running', containers: [{ name: 'main', status: 'running', ready: true, restartCount: 0, image: 'local/echo-model:1' }] });
      expect(r.conditions.map((c: { type: string; value: boolean }) => [c.type, c.value])).toEqual([
        ['PodScheduled', true],
        ['Initialized', true],
        ['ContainersReady', true],
        ['Ready', true],
      ]);
    }
    expect(replicaProcesses(w.protonId)).toHaveLength(2);

    // The data plane: round robin over both ready replicas, request and answer intact.
    const replicasSeen = new Set<string>();
    for (let i = 0; i < 6; i++) {
      const answer = await system.api.post(`/api/v2/endpoints/workloads/${id}/predict?x=1`, { input: i });
      expect(answer.status).toBe(200);
      expect(answer.body).toMatchObject({ ok: true, path: '/predict', body: { input: i } });
      replicasSeen.add(answer.body.replica);
    }
    expect([...replicasSeen].sort()).toEqual(details.body.replicas.map((r: { name: string }) => r.name).sort());
    expect((await system.api.get(`/api/v2/endpoints/workloads/${id}/fail?status=503`)).status).toBe(503);
    // Every forwarded request became one record, counted by the statistics.
    const stats = await waitFor(async () => {
      const s = (await system.api.get(`/api/v2/workloads/${id}/stats`)).body;
      return s.metrics?.totalRequests === 7 ? s : undefined;
    }, 'seven recorded requests', 20_000);
    expect(stats.metrics).toMatchObject({ serverErrors: 1, userErrors: 0 });

    const victim = details.body.replicas[0].name as string;
    process.kill(replicaPid(victim)!, 'SIGKILL');
    await waitFor(async () => (await eventTypes(system, id)).includes('Replica Restarted'), 'Replica Restarted', 20_000);
    const after = await waitFor(async () => {
      const d = (await system.api.get(`/api/v2/workloads/${id}/protons/${w.protonId}/statusDetails`)).body;
      const r = d.replicas.find((x: { name: string }) => x.name === victim);
      return d.overallStatus.state === 'running' && r?.containers[0].ready ? r : undefined;
    }, 'the killed replica back and ready', 20_000);
    expect(after.containers[0]).toMatchObject({ restartCount: 1, lastState: { status: 'terminated', exitCode: 137 } });
    await waitForStatus(system, id, 'running');
    expect(replicaProcesses(w.protonId)).toHaveLength(2);

    const stopped = await system.api.post(`/api/v2/workloads/${id}/stop`);
    expect(stopped.status).toBe(202);
    await waitForStatus(system, id, 'stopped');
    expect(replicaProcesses(w.protonId)).toHaveLength(0);
    expect((await system.api.post(`/api/v2/workloads/${id}/stop`)).status).toBe(200);
    await waitFor(async () => (await system.api.get(`/api/v2/endpoints/workloads/${id}/`)).status === 503, 'the data plane to answer 503', 5000);
  }, 90_000);

  it('refuses a start while the workload is stopping (409), and accepts it once stopped', async () => {
    // Replicas that take 3 s to exit on SIGTERM keep the workload in `stopping`.
    const id = await createDeployed(system, 'slow-stop', 'local/echo-model:1', 1, [{ name: 'ECHO_DRAIN_MS', value: '3000' }]);
    await waitForStatus(system, id, 'running');
    expect((await system.api.post(`/api/v2/workloads/${id}/stop`)).status).toBe(202);
    const refused = await system.api.post(`/api/v2/workloads/${id}/start`);
    expect(refused.status).toBe(409);
    expect(refused.body.detail).toMatch(/stopping/);
    await waitForStatus(system, id, 'stopped');
    expect((await system.api.post(`/api/v2/workloads/${id}/start`)).status).toBe(202);
    await waitForStatus(system, id, 'running');
    expect((await system.api.post(`/api/v2/workloads/${id}/stop`)).status).toBe(202);
    await waitForStatus(system, id, 'stopped');
  }, 60_000);

  it('reports a proton that never becomes ready as errored, with a reason', async () => {
    const id = await createDeployed(system, 'never-ready', 'local/never-ready:1', 1);
    const w = await waitForStatus(system, id, 'errored', 30_000);
    const events = (await system.api.get(`/api/v2/workloads/${id}/events?limit=100`)).body.data;
    const errored = events.find((e: { eventType: string }) => e.eventType === 'Proton Errored');
    expect(errored.details).toMatchObject({ protonId: w.protonId, reason: expect.stringMatching(/did not become ready/) });
    expect(replicaProcesses(w.protonId)).toHaveLength(0);
  }, 60_000);

  it('answers 204 for status details while the runtime has no snapshot, 404 for an unknown proton', async () => {
    const id = await createDeployed(system, 'snapshot', 'local/echo-model:1', 1);
    const w = await waitForStatus(system, id, 'running');
    expect((await system.api.post(`/api/v2/workloads/${id}/stop`)).status).toBe(202);
    await waitForStatus(system, id, 'stopped');
    // A stopped proton has no live snapshot after a restart of the service.
    await system.restart();
    const empty = await system.api.get(`/api/v2/workloads/${id}/protons/${w.protonId}/statusDetails`);
    expect(empty.status).toBe(204);
    expect(empty.body).toBeNull();
    const unknown = await system.api.get(`/api/v2/workloads/${id}/protons/aaaaaaaaaaaaaaaaaaaaaaaa/statusDetails`);
    expect(unknown.status).toBe(404);
  }, 60_000);

  it('refuses images outside the operator catalog', async () => {
    const refused = await system.api.post('/api/v2/workloads', { name: 'evil', artifact: artifact('docker.io/library/bash:latest') });
    expect(refused.status).toBe(422);
    expect(refused.body.detail[0].loc).toEqual(['body', 'artifact', 'spec', 'containerGroups', 0, 'containers', 0, 'imageUri']);
  });
});

describe('a workload-service crash mid-start and mid-stop (distributed)', () => {
  let system: System;

  beforeAll(async () => {
    system = await startDistributedSystem({ 'workload-service': RUNTIME_ENV });
  }, 180_000);

  afterAll(async () => {
    await system?.stop();
  });

  it('completes a start interrupted by a crash, without starting a replica twice', async () => {
    const id = await createDeployed(system, 'crash-start', 'local/echo-model:1', 2);
    await system.kill('workload-service');
    await system.start('workload-service');
    const w = await waitForStatus(system, id, 'running', 30_000);
    expect(replicaProcesses(w.protonId)).toHaveLength(2);
    const starts = (await eventTypes(system, id)).filter((t) => t === 'Start Requested');
    expect(starts).toHaveLength(1);

    // Traffic through the data plane reaches ClickHouse through Kafka, and every statistic API sees it.
    for (let i = 0; i < 3; i++) expect((await system.api.get(`/api/v2/endpoints/workloads/${id}/q?i=${i}`)).status).toBe(200);
    expect((await system.api.get(`/api/v2/endpoints/workloads/${id}/q?status=404`)).status).toBe(404);
    const stats = await waitFor(async () => {
      const body = (await system.api.get(`/api/v2/workloads/${id}/stats`)).body;
      return body.metrics?.totalRequests === 4 ? body : undefined;
    }, 'four requests in the statistics', 30_000);
    expect(stats.metrics).toMatchObject({ userErrors: 1, serverErrors: 0, userErrorRate: 0.25 });
    const series = await system.api.get(`/api/v2/workloads/${id}/stats/totalRequests?resolution=PT1H`);
    expect(series.status).toBe(200);
    expect(series.body.buckets.reduce((sum: number, b: { value: number }) => sum + b.value, 0)).toBe(4);
    const listed = await system.api.get(`/api/v2/workloads?ids=${id}&serviceStats=true`);
    expect(listed.body.data[0].requestStats).toMatchObject({ totalRequests: 4 });
    const summary = await system.api.get(`/api/v2/workloads/stats?ids=${id}`);
    expect(summary.body).toMatchObject({ workloads: { total: 1, active: 1 }, requests: { total: 4, succeeded: 3, failed: 1 } });

    expect((await system.api.delete(`/api/v2/workloads/${id}/stats`)).status).toBe(204);
    expect((await system.api.get(`/api/v2/workloads/${id}/stats`)).body.metrics.totalRequests).toBe(0);
    expect(await eventTypes(system, id)).toContain('Stats Reset');
    expect((await system.api.request('DELETE', `/api/v2/workloads/${id}/stats?startTime=2026-11-28T10:00:00.000Z&endTime=2026-11-28T09:00:00.000Z`)).status).toBe(400);
  }, 120_000);

  it('completes a stop interrupted by a crash, leaving no orphan process', async () => {
    // Replicas that take 2 s to exit on SIGTERM keep the stop in flight while the service dies.
    const id = await createDeployed(system, 'crash-stop', 'local/echo-model:1', 2, [{ name: 'ECHO_DRAIN_MS', value: '2000' }]);
    const w = await waitForStatus(system, id, 'running', 30_000);
    expect((await system.api.post(`/api/v2/workloads/${id}/stop`)).status).toBe(202);
    await new Promise((r) => setTimeout(r, 300));
    await system.kill('workload-service');
    await system.start('workload-service');
    await waitForStatus(system, id, 'stopped', 30_000);
    await waitFor(() => replicaProcesses(w.protonId).length === 0, 'no replica left', 10_000);
  }, 120_000);
});
