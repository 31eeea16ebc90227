import { waitFor } from '@wcp/testing';
import { waitForStatus } from './api.helpers';
import { environOf, processesWhere, replicaProcesses } from './replica-processes';
import { echoArtifact, startDistributedSystem, System } from './system.harness';

/**
 * Two workload-service instances against real Kafka and FerretDB: each runs the replicas of the
 * workloads whose command partitions it owns, so every workload runs exactly once; the gateway
 * (pointed at the first instance) still routes to all of them and reads their status details;
 * and when the second instance dies with its host, the first takes its workloads over.
 */
const WORKLOADS = 8;

/** The runtime directory (one per workload-service instance) of each live replica of a proton. */
function runtimeDirsOf(protonId: string): string[] {
  return replicaProcesses(protonId).map((pid) => environOf(pid)?.get('WCP_RUNTIME_DIR') ?? '?');
}

/** SIGKILLs every replica process group a runtime directory launched: what a lost host does to them. */
function killReplicasOf(runtimeDirPrefix: string): number {
  const pids = processesWhere((env) => env.get('WCP_RUNTIME_DIR')?.startsWith(runtimeDirPrefix) === true);
  for (const pid of pids) {
    // A group leader takes its group with it; a member may be gone by its turn.
    for (const target of [-pid, pid]) {
      try {
        process.kill(target, 'SIGKILL');
        break;
      } catch {
        // not a group leader, or gone already
      }
    }
  }
  return pids.length;
}

describe('runtime placement: workloads run once across two workload-service instances, and move when one dies', () => {
  let system: System;

  beforeAll(async () => {
    system = await startDistributedSystem({ gateway: { COMMAND_TIMEOUT_MS: '30000' }, 'workload-service': { RUNTIME_RESYNC_MS: '2000' } });
  }, 180_000);

  afterAll(async () => {
    await system?.stop();
  });

  const serves = async (id: string) => (await system.api.post(`/api/v2/endpoints/workloads/${id}/predict`, { input: 1 })).status === 200;

  it('shares the workloads, routes to both instances, and takes over those of a dead instance', async () => {
    const api = system.api;
    const workloads: Array<{ id: string; protonId: string }> = [];
    for (let i = 0; i < WORKLOADS; i++) {
      const created = await api.post('/api/v2/workloads', { name: `placed-${i}`, artifact: echoArtifact(`placed-${i}`) });
      expect(created.status).toBe(201);
      const running = await waitForStatus(api, created.body.id, 'running', 60_000);
      workloads.push({ id: created.body.id, protonId: running.protonId });
    }
    const firstDirs = new Set(workloads.flatMap((w) => runtimeDirsOf(w.protonId)));
    expect(firstDirs.size).toBe(1);

    const second = await system.addWorkloadService!();
    const secondDataDir = environOf(system.processes[second].child.pid!)!.get('DATA_DIR')!;
    // The group rebalances: the second instance takes some partitions, starts their workloads, and the first releases them.
    await waitFor(
      () => workloads.every((w) => runtimeDirsOf(w.protonId).length === 1) && workloads.some((w) => runtimeDirsOf(w.protonId)[0].startsWith(secondDataDir)),
      'each workload running exactly once, some on the second instance',
      90_000,
      250,
    );
    const moved = workloads.filter((w) => runtimeDirsOf(w.protonId)[0].startsWith(secondDataDir));
    const stayed = workloads.filter((w) => !moved.includes(w));
    expect(stayed.length).toBeGreaterThan(0);

    // The gateway asks the first instance; it forwards runtime queries of moved workloads to their owner.
    await waitFor(async () => (await Promise.all(workloads.map((w) => serves(w.id)))).every(Boolean), 'every workload served through the data plane', 60_000, 250);
    for (const w of moved) {
      const details = await api.get(`/api/v2/workloads/${w.id}/protons/${w.protonId}/statusDetails`);
      expect(details.status).toBe(200);
      expect(details.body.replicas.map((r: { status: string }) => r.status)).toEqual(['running']);
      // The owner's refusals come back as they are.
      expect((await api.get(`/api/v2/workloads/${w.id}/protons/0123456789abcdef01234567/statusDetails`)).status).toBe(404);
    }
    // Moving is not a stop: the streams of moved workloads say nothing of stopping.
    for (const w of moved) expect((await api.get(`/api/v2/workloads/${w.id}`)).body.status).toBe('running');

    // The second instance dies with its host (its replicas too); the first takes over within the group's session timeout.
    await system.kill(second);
    expect(killReplicasOf(secondDataDir)).toBeGreaterThan(0);
    await waitFor(
      async () => workloads.every((w) => runtimeDirsOf(w.protonId).length === 1 && !runtimeDirsOf(w.protonId)[0].startsWith(secondDataDir)) && (await Promise.all(workloads.map((w) => serves(w.id)))).every(Boolean),
      'the first instance running and serving every workload again',
      90_000,
      250,
    );

    // A taken-over workload stops like any other.
    const taken = moved[0];
    expect((await api.post(`/api/v2/workloads/${taken.id}/stop`)).status).toBe(202);
    await waitForStatus(api, taken.id, 'stopped', 60_000);
    await waitFor(() => replicaProcesses(taken.protonId).length === 0, 'the taken-over workload\'s replicas gone', 30_000, 100);
  }, 420_000);
});
