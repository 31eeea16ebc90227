import { waitFor } from '@wcp/testing';
import { waitForStatus } from './api.helpers';
import { describeOnSystems, echoArtifact } from './system.harness';

/** Short autoscaler windows, so idle → zero takes seconds rather than a minute. */
const AUTOSCALER_ENV = {
  AUTOSCALER_TICK_MS: '200',
  AUTOSCALER_STABLE_WINDOW_MS: '3000',
  AUTOSCALER_PANIC_WINDOW_MS: '600',
  AUTOSCALER_DEFAULT_COOLDOWN_MINUTES: '0',
};
const GATEWAY_ENV = { DATA_PLANE_CONCURRENCY_SAMPLE_MS: '200', DATA_PLANE_HOLD_TIMEOUT_MS: '30000' };
const BURST = 20;

interface Answer {
  status: number;
  /** ms from sending to the complete answer. */
  ms: number;
  detail?: unknown;
}

/**
 * Issue 14's definition of done, at the public API: a workload autoscaled on HTTP concurrency
 * with `minReplicaCount: 0` goes to zero replicas when idle (its status stays `running`), and a
 * burst of requests sent at once to it then is held by the data plane while a replica starts,
 * and all of it answers 200. The first answer's latency is about one replica's start time.
 */
describeOnSystems('scale to zero and back', (system) => {

  const proton = async (id: string) => {
    const workload = await system.api.get(`/api/v2/workloads/${id}`);
    const p = await system.api.get(`/api/v2/workloads/${id}/protons/${workload.body.protonId}`);
    return { workload: workload.body, proton: p.body };
  };

  async function send(id: string, i: number): Promise<Answer> {
    const t0 = performance.now();
    const response = await system.api.post(`/api/v2/endpoints/workloads/${id}/predict`, { input: i });
    return { status: response.status, ms: performance.now() - t0, ...(response.status === 200 ? {} : { detail: response.body?.detail }) };
  }

  it('goes to zero replicas when idle, then holds a burst of 20 requests while a replica starts and answers all of them 200', async () => {
    const createdAt = performance.now();
    const created = await system.api.post('/api/v2/workloads', {
      name: 'scale-to-zero',
      artifact: echoArtifact('scale-to-zero'),
      runtime: {
        containerGroups: [
          {
            name: 'default',
            replicaCount: null,
            autoscaling: { enabled: true, minReplicaCount: 0, maxReplicaCount: 2, policies: [{ scalingMetric: 'httpRequestsConcurrency', target: 1 }], cooldownPeriodMinutes: 0 },
          },
        ],
      },
    });
    expect(created.status).toBe(201);
    const id = created.body.id;
    await waitForStatus(system.api, id, 'running', 60_000);
    // A replica's start time, as this system starts one: creation to a ready replica.
    await waitFor(async () => (await proton(id)).proton.replicas?.ready === 1, 'first replica ready', 60_000);
    const coldStartMs = performance.now() - createdAt;
    expect((await send(id, -1)).status).toBe(200);

    const idleSince = performance.now();
    const zero = await waitFor(async () => {
      const state = await proton(id);
      return state.proton.replicas?.desired === 0 && state.proton.replicas?.ready === 0 ? state : undefined;
    }, 'scaled to zero', 60_000, 200);
    const toZeroMs = performance.now() - idleSince;
    expect(zero.workload.status).toBe('running');
    expect(zero.proton.replicas.reason).toEqual(expect.any(String));

    const burst = await Promise.all(Array.from({ length: BURST }, (_, i) => send(id, i)));
    const first = Math.min(...burst.map((a) => a.ms));
    const last = Math.max(...burst.map((a) => a.ms));
    console.log(`scale to zero: idle → 0 replicas in ${Math.round(toZeroMs)} ms; creation → first ready replica ${Math.round(coldStartMs)} ms; burst of ${BURST}: first answer ${Math.round(first)} ms, last ${Math.round(last)} ms`);
    expect(burst.filter((a) => a.status !== 200)).toEqual([]);
    // Held, not answered by a warm replica: the first answer waited for a replica to start.
    expect(first).toBeGreaterThan(50);
    expect(first).toBeLessThan(coldStartMs + 5000);

    const after = await proton(id);
    expect(after.proton.replicas.ready).toBeGreaterThanOrEqual(1);
    expect(after.workload.status).toBe('running');
  }, 180_000);
}, { embedded: { ...AUTOSCALER_ENV, ...GATEWAY_ENV }, distributed: { 'workload-service': AUTOSCALER_ENV, gateway: GATEWAY_ENV } });
