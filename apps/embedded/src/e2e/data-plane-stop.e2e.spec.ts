import { waitForStatus } from './api.helpers';
import { describeOnSystems, echoArtifact } from './system.harness';

interface Probe {
  status: number;
  sentAt: number;
  detail?: unknown;
}

/**
 * The data plane through a stop and a delete, polled without pause by a few callers: `200` while
 * the workload serves, then `503` (no ready replica) for every request sent after the stop was
 * accepted, and never a `502` (a replica killed under a stale route). After a delete the
 * workload is gone: `404` (or `503` while it is being torn down), again never a `502`.
 */
describeOnSystems('data plane through stop and delete', (system) => {

  /** Polls the data plane with `callers` loops until `act` has resolved and `after` more ms have passed. */
  async function pollThrough(workloadId: string, act: () => Promise<void>, after = 1500): Promise<{ probes: Probe[]; acceptedAt: number }> {
    const probes: Probe[] = [];
    let acceptedAt = Number.POSITIVE_INFINITY;
    let done = false;
    const poll = async () => {
      while (!done) {
        const sentAt = performance.now();
        const response = await system.api.post(`/api/v2/endpoints/workloads/${workloadId}/predict`, { input: 1 });
        probes.push({ status: response.status, sentAt, ...(response.status === 200 ? {} : { detail: response.body?.detail }) });
      }
    };
    const pollers = Array.from({ length: 4 }, poll);
    await new Promise((r) => setTimeout(r, 500));
    await act();
    acceptedAt = performance.now();
    await new Promise((r) => setTimeout(r, after));
    done = true;
    await Promise.all(pollers);
    return { probes, acceptedAt };
  }

  async function runningWorkload(name: string): Promise<string> {
    const created = await system.api.post('/api/v2/workloads', { name, artifact: echoArtifact(name) });
    expect(created.status).toBe(201);
    await waitForStatus(system.api, created.body.id, 'running', 60_000);
    return created.body.id;
  }

  it('answers 503 from the moment a stop is accepted, never 502', async () => {
    const id = await runningWorkload('dp-stop');
    const { probes, acceptedAt } = await pollThrough(id, async () => {
      expect((await system.api.post(`/api/v2/workloads/${id}/stop`)).status).toBe(202);
    });
    const before = probes.filter((p) => p.sentAt < acceptedAt);
    const afterStop = probes.filter((p) => p.sentAt >= acceptedAt);
    expect(before.length).toBeGreaterThan(0);
    expect(before.filter((p) => p.status === 200).length).toBeGreaterThan(0);
    expect(afterStop.length).toBeGreaterThan(0);
    expect([...new Set(afterStop.map((p) => p.status))]).toEqual([503]);
    expect(probes.filter((p) => ![200, 503].includes(p.status))).toEqual([]);
  }, 120_000);

  it('never answers 502 through a delete, and 404 once it is done', async () => {
    const id = await runningWorkload('dp-delete');
    const { probes, acceptedAt } = await pollThrough(id, async () => {
      expect((await system.api.delete(`/api/v2/workloads/${id}`)).status).toBe(204);
    });
    expect(probes.filter((p) => p.status === 200).length).toBeGreaterThan(0);
    expect(probes.filter((p) => ![200, 503, 404].includes(p.status))).toEqual([]);
    const afterDelete = probes.filter((p) => p.sentAt >= acceptedAt);
    expect(afterDelete.length).toBeGreaterThan(0);
    expect([...new Set(afterDelete.map((p) => p.status))]).toEqual([404]);
  }, 120_000);
});
