import { ApiClient, waitFor } from '@wcp/testing';
import { replicaProcesses } from './replica-processes';
import { describeOnSystems, startDistributedSystem, System } from './system.harness';

/**
 * Runtime settings and rollouts (spec §2 Replacement, §3 settings/replacement/history/promote)
 * through the gateway, with real replicas and real traffic: nothing fails during a rolling
 * change, canary weights hold, a bad candidate is rolled back by its own statistics, and a
 * crash of the workload service at any step resumes the rollout.
 */
const ENV = { REPLACEMENT_READY_TIMEOUT_MS: '6000', REPLACEMENT_DRAIN_MS: '1500', STOP_GRACE_MS: '3000' };

const echo = (name: string, env: Array<{ name: string; value: string }> = []) => ({
  name,
  spec: { containerGroups: [{ name: 'default', containers: [{ name: 'main', primary: true, imageUri: 'local/echo-model:1', port: 8000, environmentVars: env }] }] },
});
const replicas = (n: number) => ({ containerGroups: [{ name: 'default', replicaCount: n }] });

async function runningWorkload(api: ApiClient, name: string, n: number): Promise<any> {
  const created = await api.post('/api/v2/workloads', { name, artifact: echo(`${name}-v1`), runtime: replicas(n) });
  expect(created.status).toBe(201);
  return waitFor(async () => {
    const w = (await api.get(`/api/v2/workloads/${created.body.id}`)).body;
    return w.status === 'running' ? w : undefined;
  }, `${name} running`, 30_000, 200);
}

async function draft(api: ApiClient, name: string, env: Array<{ name: string; value: string }> = []): Promise<string> {
  const created = await api.post('/api/v2/artifacts', echo(name, env));
  expect(created.status).toBe(201);
  return created.body.id;
}

async function replacementUntil(api: ApiClient, id: string, done: (r: any) => boolean, what: string, timeoutMs = 60_000): Promise<any> {
  return waitFor(async () => {
    const r = await api.get(`/api/v2/workloads/${id}/replacement`);
    return r.status === 200 && done(r.body) ? r.body : undefined;
  }, what, timeoutMs, 200);
}

/** A client sending ~`rps` requests a second through the data plane, keeping every answer's status and replica. */
function load(api: ApiClient, workloadId: string, rps: number) {
  const answers: Array<{ status: number; replica: string | null; at: number }> = [];
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const started = Date.now();
      const r = await api.post(`/api/v2/endpoints/workloads/${workloadId}/predict`, { x: 1 });
      answers.push({ status: r.status, replica: r.body?.replica ?? null, at: started });
      const wait = 1000 / rps - (Date.now() - started);
      if (wait > 0) await new Promise((res) => setTimeout(res, wait));
    }
  })();
  return {
    answers,
    stop: async () => {
      stopped = true;
      await loop;
      return answers;
    },
  };
}

async function eventTypes(api: ApiClient, id: string): Promise<string[]> {
  return (await api.get(`/api/v2/workloads/${id}/events?limit=100`)).body.data.map((e: { eventType: string }) => e.eventType);
}

describeOnSystems('rollouts', (system) => {
  let api: ApiClient;

  beforeAll(async () => {
    api = system.api;
  }, 180_000);

  it('PATCH settings 2 → 3 replicas under 20+ requests/s: no failed request, one active proton of 3 ready replicas after', async () => {
    const w = await runningWorkload(api, 'rolling', 2);
    expect((await api.get(`/api/v2/workloads/${w.id}/settings`)).body).toEqual({ runtime: w.runtime, replacement: null });
    const traffic = [load(api, w.id, 15), load(api, w.id, 15)];
    await new Promise((r) => setTimeout(r, 1000));
    const patched = await api.patch(`/api/v2/workloads/${w.id}/settings`, { runtime: replicas(3) });
    expect(patched.status).toBe(202);
    expect(patched.body).toMatchObject({ workloadId: w.id, strategy: 'rolling', status: expect.any(String), previousProtonIds: [w.protonId], candidateArtifactId: w.artifactId });
    // One at a time: a second PATCH while it runs is refused.
    expect((await api.patch(`/api/v2/workloads/${w.id}/settings`, { runtime: replicas(4) })).status).toBe(409);
    const candidate = patched.body.candidateProtonIds[0];
    await waitFor(async () => (await api.get(`/api/v2/workloads/${w.id}`)).body.protonId === candidate, 'the candidate to take over', 60_000, 200);
    await new Promise((r) => setTimeout(r, 1500));
    const answers = (await Promise.all(traffic.map((t) => t.stop()))).flat();
    const seconds = (answers[answers.length - 1].at - answers[0].at) / 1000;
    expect(answers.length / seconds).toBeGreaterThanOrEqual(20);
    expect(answers.filter((a) => a.status !== 200)).toEqual([]);
    // Both protons served during the switch.
    expect(new Set(answers.map((a) => a.replica?.slice(0, 24))).size).toBe(2);

    const after = (await api.get(`/api/v2/workloads/${w.id}`)).body;
    expect(after).toMatchObject({ status: 'running', protonId: candidate, runtime: { containerGroups: [{ replicaCount: 3 }] } });
    const protons = (await api.get(`/api/v2/workloads/${w.id}/protons`)).body;
    expect(protons.data.filter((p: any) => p.role === 'active').map((p: any) => p.id)).toEqual([candidate]);
    const details = (await api.get(`/api/v2/workloads/${w.id}/protons/${candidate}/statusDetails`)).body;
    expect(details.replicas.filter((r: any) => r.status === 'running')).toHaveLength(3);
    const types = await eventTypes(api, w.id);
    expect(types).toEqual(expect.arrayContaining(['Replacement Started', 'Replacement Completed', 'Settings Updated']));
    expect((await api.get(`/api/v2/workloads/${w.id}/replacement`)).status).toBe(404);
    const history = (await api.get(`/api/v2/workloads/${w.id}/history`)).body;
    expect(history).toMatchObject({ totalCount: 1, data: [{ id: patched.body.id, status: 'completed', switchedAt: expect.any(String) }] });
    // The same runtime again is a no-op answered with the settings.
    const same = await api.patch(`/api/v2/workloads/${w.id}/settings`, { runtime: replicas(3) });
    expect(same.status).toBe(200);
    expect(same.body).toMatchObject({ runtime: { containerGroups: [{ replicaCount: 3 }] }, replacement: null });
    await waitFor(() => replicaProcesses(w.protonId).length === 0, 'the previous replicas gone', 15_000);
    expect((await api.delete(`/api/v2/workloads/${w.id}`)).status).toBe(204);
  }, 150_000);

  it('canary 10 % → 50 % → 100 %: the candidate share of each step, counted in ClickHouse, is within 5 points of its weight', async () => {
    const w = await runningWorkload(api, 'canary', 1);
    const next = await draft(api, 'canary-v2');
    const steps = [10, 50, 100].map((trafficPercent) => ({ trafficPercent, pauseMinutes: null }));
    const started = await api.post(`/api/v2/workloads/${w.id}/replacement`, { artifactId: next, strategy: 'canary', config: { canarySteps: steps } });
    expect(started.status).toBe(202);
    const candidate = started.body.candidateProtonIds[0];
    for (const [i, step] of steps.entries()) {
      await replacementUntil(api, w.id, (r) => r.status === 'staged' && r.progress.step === i, `canary step ${i + 1}`);
      // The gateway's route cache (1 s) catches up with the new weight first.
      await new Promise((r) => setTimeout(r, 1500));
      const from = new Date().toISOString();
      for (let n = 0; n < 200; n++) expect((await api.get(`/api/v2/endpoints/workloads/${w.id}/s${i}`)).status).toBe(200);
      await new Promise((r) => setTimeout(r, 5));
      const to = new Date().toISOString();
      const count = async (protonId: string) => (await api.get(`/api/v2/workloads/${w.id}/stats?protonId=${protonId}&startTime=${from}&endTime=${to}`)).body.metrics.totalRequests as number;
      const [c, p] = await waitFor(async () => {
        const pair = [await count(candidate), await count(w.protonId)];
        return pair[0] + pair[1] === 200 ? pair : undefined;
      }, `request records of step ${i + 1}`, 30_000, 500);
      expect(Math.abs((100 * c) / (c + p) - step.trafficPercent)).toBeLessThanOrEqual(5);
      const resumed = await api.post(`/api/v2/workloads/${w.id}/replacement/resume`);
      expect(resumed.status).toBe(202);
    }
    await waitFor(async () => (await api.get(`/api/v2/workloads/${w.id}`)).body.protonId === candidate, 'the canary to take over', 30_000, 200);
    expect((await api.get(`/api/v2/workloads/${w.id}`)).body).toMatchObject({ artifactId: next, status: 'running' });
    expect((await api.post(`/api/v2/workloads/${w.id}/replacement/resume`)).status).toBe(404);
    expect((await api.delete(`/api/v2/workloads/${w.id}`)).status).toBe(204);
  }, 150_000);

  it('rolls a canary back by itself when its replicas answer 500s; the message names the metric; the old proton keeps serving', async () => {
    const w = await runningWorkload(api, 'bad-canary', 1);
    const bad = await draft(api, 'bad-canary-v2', [{ name: 'ECHO_ERROR_RATE', value: '1' }]);
    const traffic = load(api, w.id, 25);
    const started = await api.post(`/api/v2/workloads/${w.id}/replacement`, {
      artifactId: bad,
      strategy: 'canary',
      config: { canarySteps: [{ trafficPercent: 50, pauseMinutes: 10 }], analysis: { maxErrorRate: 0.1, minRequests: 10, intervalSeconds: 3 } },
    });
    expect(started.status).toBe(202);
    const staged = await replacementUntil(api, w.id, (r) => r.status === 'staged', 'the canary step');
    const errored = await replacementUntil(api, w.id, (r) => r.status === 'errored', 'an automatic rollback', 60_000);
    const tookMs = Date.parse(errored.updatedAt) - Date.parse(staged.updatedAt);
    expect(errored.message).toMatch(/errorRate 1 > maxErrorRate 0\.1/);
    await waitFor(async () => (await api.get(`/api/v2/workloads/${w.id}/settings`)).body.replacement === null, 'the rollback to finish', 30_000, 200);
    await new Promise((r) => setTimeout(r, 1500));
    const tail = traffic.answers.length;
    await new Promise((r) => setTimeout(r, 1500));
    const answers = await traffic.stop();
    expect(answers.slice(tail).filter((a) => a.status !== 200)).toEqual([]);
    expect((await api.get(`/api/v2/workloads/${w.id}`)).body).toMatchObject({ protonId: w.protonId, artifactId: w.artifactId, status: 'running' });
    expect(await eventTypes(api, w.id)).toContain('Replacement Errored');
    // Within two analysis intervals of the step (plus the records' way through the pipeline).
    expect(tookMs).toBeLessThanOrEqual(2 * 3000 + 3000);
    expect((await api.delete(`/api/v2/workloads/${w.id}`)).status).toBe(204);
  }, 150_000);

  it('errors a replacement to local/never-ready:1; the old artifact keeps serving; the errored one stays visible until the next starts', async () => {
    const w = await runningWorkload(api, 'never', 1);
    const never = (await api.post('/api/v2/artifacts', { name: 'never', spec: { containerGroups: [{ name: 'default', containers: [{ name: 'main', primary: true, imageUri: 'local/never-ready:1', port: 8000 }] }] } })).body.id;
    const started = await api.post(`/api/v2/workloads/${w.id}/replacement`, { artifactId: never, strategy: 'blueGreen' });
    expect(started.status).toBe(202);
    const errored = await replacementUntil(api, w.id, (r) => r.status === 'errored', 'the replacement to error', 30_000);
    expect(errored.message).toMatch(/did not become ready/);
    expect((await api.get(`/api/v2/endpoints/workloads/${w.id}/still`)).status).toBe(200);
    await waitFor(async () => (await api.get(`/api/v2/workloads/${w.id}/settings`)).body.replacement === null, 'the lock released', 30_000, 200);
    expect((await api.get(`/api/v2/workloads/${w.id}/replacement`)).body.id).toBe(started.body.id);
    await waitFor(() => replicaProcesses(started.body.candidateProtonIds[0]).length === 0, 'the candidate gone', 15_000);
    // Draft replaces draft only; a locked artifact is refused with 400.
    const locked = await draft(api, 'locked-one');
    expect((await api.patch(`/api/v2/artifacts/${locked}`, { status: 'locked' })).status).toBe(200);
    expect((await api.post(`/api/v2/workloads/${w.id}/replacement`, { artifactId: locked })).status).toBe(400);
    expect((await api.post(`/api/v2/workloads/${w.id}/replacement`, { artifactId: 'aaaaaaaaaaaaaaaaaaaaaaaa' })).status).toBe(404);
    // The next one replaces the errored one at GET /replacement.
    const again = await api.patch(`/api/v2/workloads/${w.id}/settings`, { runtime: replicas(2) });
    expect(again.status).toBe(202);
    expect((await api.get(`/api/v2/workloads/${w.id}/replacement`)).body.id).toBe(again.body.id);
    await waitFor(async () => (await api.get(`/api/v2/workloads/${w.id}`)).body.protonId === again.body.candidateProtonIds[0], 'the settings change', 60_000, 200);
    // Promote locks the running draft and resets statistics.
    const promoted = await api.post(`/api/v2/workloads/${w.id}/promote`);
    expect(promoted.status).toBe(202);
    expect(promoted.body.artifact).toMatchObject({ status: 'locked', version: 1 });
    expect((await api.post(`/api/v2/workloads/${w.id}/promote`)).status).toBe(422);
    expect(await eventTypes(api, w.id)).toEqual(expect.arrayContaining(['Artifact Promoted', 'Stats Reset']));
    expect((await api.delete(`/api/v2/workloads/${w.id}`)).status).toBe(204);
  }, 150_000);
}, { embedded: ENV, distributed: { 'workload-service': ENV } });

describe('a workload-service crash in the middle of a rollout (distributed)', () => {
  let system: System;
  let api: ApiClient;

  beforeAll(async () => {
    system = await startDistributedSystem({ 'workload-service': ENV });
    api = system.api;
  }, 180_000);

  afterAll(async () => {
    await system?.stop();
  });

  async function crashWhen(w: any, body: Record<string, unknown>, when: (r: any) => boolean, what: string): Promise<string> {
    const started = await api.post(`/api/v2/workloads/${w.id}/replacement`, body);
    expect(started.status).toBe(202);
    await replacementUntil(api, w.id, when, what);
    await system.kill('workload-service');
    await system.start('workload-service');
    return started.body.candidateProtonIds[0];
  }

  async function expectCompleted(w: any, candidate: string, replicaCount: number): Promise<void> {
    await waitFor(async () => (await api.get(`/api/v2/workloads/${w.id}`)).body.protonId === candidate, 'the rollout to complete after the restart', 60_000, 250);
    const history = (await api.get(`/api/v2/workloads/${w.id}/history`)).body.data;
    expect(history[0].status).toBe('completed');
    await waitFor(() => replicaProcesses(w.protonId).length === 0, 'no previous replica left', 15_000);
    expect(replicaProcesses(candidate)).toHaveLength(replicaCount);
    const details = (await api.get(`/api/v2/workloads/${w.id}/protons/${candidate}/statusDetails`)).body;
    expect(details.replicas).toHaveLength(replicaCount);
    expect((await eventTypes(api, w.id)).filter((t) => t === 'Replacement Completed')).toHaveLength(1);
  }

  it('resumes a rollout killed while initializing', async () => {
    const w = await runningWorkload(api, 'crash-init', 2);
    const next = await draft(api, 'crash-init-v2');
    const candidate = await crashWhen(w, { artifactId: next, strategy: 'blueGreen' }, (r) => ['submitted', 'initializing'].includes(r.status), 'initializing');
    await expectCompleted(w, candidate, 2);
  }, 150_000);

  it('resumes a rollout killed while promoting (rolling, between batches)', async () => {
    const w = await runningWorkload(api, 'crash-promote', 3);
    const next = await draft(api, 'crash-promote-v2');
    const candidate = await crashWhen(w, { artifactId: next, strategy: 'rolling' }, (r) => r.status === 'promoting', 'promoting');
    await expectCompleted(w, candidate, 3);
  }, 150_000);

  it('resumes a rollout killed while finalizing, and a canceled one stays canceled', async () => {
    const w = await runningWorkload(api, 'crash-final', 1);
    const next = await draft(api, 'crash-final-v2');
    const candidate = await crashWhen(w, { artifactId: next, strategy: 'blueGreen', config: { keepOldVersionMinutes: 0.1 } }, (r) => r.status === 'finalizing', 'finalizing');
    await expectCompleted(w, candidate, 1);

    const other = await draft(api, 'crash-cancel-v3');
    const paused = await api.post(`/api/v2/workloads/${w.id}/replacement`, { artifactId: other, strategy: 'canary', config: { canarySteps: [{ trafficPercent: 20, pauseMinutes: null }] } });
    await replacementUntil(api, w.id, (r) => r.status === 'staged', 'the canary step');
    expect((await api.delete(`/api/v2/workloads/${w.id}/replacement`)).status).toBe(202);
    await system.kill('workload-service');
    await system.start('workload-service');
    await replacementUntil(api, w.id, (r) => r.status === 'canceled', 'canceled after the restart');
    await waitFor(() => replicaProcesses(paused.body.candidateProtonIds[0]).length === 0, 'the canceled candidate gone', 15_000);
    expect((await api.get(`/api/v2/workloads/${w.id}`)).body.protonId).toBe(candidate);
    expect(replicaProcesses(candidate)).toHaveLength(1);
  }, 150_000);
});
