import { Actor, CommandBody, CommandEnvelope, CommandOutcome, CommandResult, newId, Topics } from '@wcp/contracts';
import { InProcessBus } from '@wcp/messaging';
import { waitFor } from '@wcp/testing';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EVENT_STORE, EventStore } from '../../event-store/event-store';
import { createWorkloadService, loadConfig, WorkloadServiceHandle } from '../../index';
import { RUNTIME_DRIVER, RuntimeDriver } from '../../runtime';

/**
 * The ReplacementSaga against the real local runtime (replica processes of the catalog
 * images) and the embedded event store: commands in over the bus, the runtime observed
 * directly. Traffic, analysis and the HTTP contract are the e2e tier's.
 */
describe('replacement saga on the local runtime', () => {
  const bus = new InProcessBus();
  let service: WorkloadServiceHandle;
  let driver: RuntimeDriver;
  let store: EventStore;
  let actor: Actor;
  const results = new Map<string, CommandOutcome>();

  const echo = (env: Array<{ name: string; value: string }> = []) => ({
    name: 'echo',
    type: 'service' as const,
    spec: { containerGroups: [{ name: 'default', containers: [{ name: 'main', primary: true, imageUri: 'local/echo-model:1', port: 8000, entrypoint: [], environmentVars: env }] }] },
  });

  async function send(command: CommandBody, key: string): Promise<CommandOutcome> {
    const id = newId();
    const envelope: CommandEnvelope = { type: 'command', schemaVersion: 1, commandId: `cmd-${id}`, correlationId: `corr-${id}`, key, actor, issuedAt: new Date().toISOString(), command };
    await bus.publish(Topics.commands, [{ key, value: envelope }]);
    return waitFor(() => results.get(envelope.correlationId), `reply to ${command.name}`, 30_000);
  }

  const ok = (outcome: CommandOutcome): any => {
    if (!outcome.ok) throw new Error(`refused: ${JSON.stringify(outcome.error)}`);
    return outcome.value;
  };

  async function replacementStatus(id: string): Promise<string[]> {
    const events = await store.readStream(`replacement-${id}`);
    return events.filter((e) => e.type === 'replacement.status-changed').map((e) => (e.data as { to: string }).to);
  }

  async function running(replicas: number, artifact = echo()) {
    const workloadId = newId();
    const created = ok(
      await send(
        { name: 'CreateWorkload', workloadId, artifactId: newId(), input: { name: 'r', importance: 'low', tags: [], artifact, runtime: { containerGroups: [{ name: 'default', replicaCount: replicas, resourceBundles: [], containers: [] }] } } },
        workloadId,
      ),
    );
    await waitFor(() => driver.readyEndpoints(created.protonId).length === replicas, 'replicas ready', 30_000);
    return { workloadId, protonId: created.protonId as string, artifactId: created.artifactId as string };
  }

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wcp-rollout-'));
    const config = loadConfig({ DATA_DIR: dir, INTERNAL_PORT: '0', BOOTSTRAP_API_TOKEN: 'integration-admin-token-000', REPLACEMENT_DRAIN_MS: '200', REPLACEMENT_READY_TIMEOUT_MS: '4000', REPLICA_READY_TIMEOUT_MS: '60000', MAX_ACTIVE_WORKLOADS_PER_OWNER: '50' });
    service = await createWorkloadService({ config, bus, logger: false });
    driver = service.app.get(RUNTIME_DRIVER);
    store = service.app.get(EVENT_STORE);
    await bus.subscribe({
      topic: Topics.commandResults,
      groupId: 'it-results',
      handleBatch: async (messages) => messages.map((m) => (results.set((m.value as CommandResult).correlationId, (m.value as CommandResult).outcome), { kind: 'ok' as const })),
    });
    for await (const c of store.replay()) if (c.streamId.startsWith('user-')) actor = { id: (c.events[0].data as { userId: string }).userId, username: 'admin', isAdmin: true, groupIds: [], orgId: null };
  }, 60_000);

  afterAll(async () => {
    await service?.close();
    await bus.close();
  });

  it('rolls settings from 2 to 3 replicas: the previous proton serves until candidates are ready, then one proton of 3 remains', async () => {
    const w = await running(2);
    const readySeen: number[] = [];
    const off = driver.onEvent(() => readySeen.push(driver.readyEndpoints(w.protonId).length + (candidate ? driver.readyEndpoints(candidate).length : 0)));
    let candidate = '';
    const answer = ok(await send({ name: 'UpdateSettings', workloadId: w.workloadId, replacementId: newId(), candidateProtonId: newId(), input: { runtime: { containerGroups: [{ name: 'default', replicaCount: 3, resourceBundles: [], containers: [] }] } } }, w.workloadId));
    expect(answer.kind).toBe('replacement');
    candidate = answer.replacement.candidateProtonIds[0];
    await waitFor(async () => (await replacementStatus(answer.replacement.id)).includes('completed'), 'rolling replacement to complete', 60_000, 200);
    off();
    expect(await replacementStatus(answer.replacement.id)).toEqual(['initializing', 'promoting', 'finalizing', 'completed']);
    await waitFor(() => driver.snapshot(w.protonId)?.overallStatus.state === 'stopped', 'previous proton stopped', 10_000);
    expect(driver.readyEndpoints(candidate)).toHaveLength(3);
    expect(Math.min(...readySeen)).toBeGreaterThanOrEqual(2);
    const workload = (await store.readStream(`workload-${w.workloadId}`)).map((e) => e.type);
    expect(workload.slice(-3)).toEqual(['workload.replacement-started', 'workload.replacement-finished', 'workload.settings-updated']);
    // The same runtime again changes nothing.
    const same = ok(await send({ name: 'UpdateSettings', workloadId: w.workloadId, replacementId: newId(), candidateProtonId: newId(), input: { runtime: { containerGroups: [{ name: 'default', replicaCount: 3, resourceBundles: [], containers: [] }] } } }, w.workloadId));
    expect(same.kind).toBe('unchanged');
  }, 90_000);

  it('errors a replacement onto an artifact that never becomes ready; the previous proton keeps running, the candidate is stopped', async () => {
    const w = await running(1);
    const neverReady = newId();
    ok(await send({ name: 'CreateArtifact', artifactId: neverReady, input: { name: 'never', type: 'service', spec: { containerGroups: [{ name: 'default', containers: [{ name: 'main', primary: true, imageUri: 'local/never-ready:1', port: 8000, entrypoint: [], environmentVars: [] }] }] } } }, neverReady));
    const started = ok(await send({ name: 'StartReplacement', workloadId: w.workloadId, replacementId: newId(), candidateProtonId: newId(), input: { artifactId: neverReady, strategy: 'rolling' } }, w.workloadId));
    // A second one while the first runs: 409.
    const second = await send({ name: 'StartReplacement', workloadId: w.workloadId, replacementId: newId(), candidateProtonId: newId(), input: { artifactId: neverReady, strategy: 'rolling' } }, w.workloadId);
    expect(second).toMatchObject({ ok: false, error: { kind: 'conflict', code: 'REPLACEMENT_IN_PROGRESS' } });
    await waitFor(async () => (await store.readStream(`workload-${w.workloadId}`)).some((e) => e.type === 'workload.replacement-finished'), 'the replacement to end', 30_000, 200);
    expect(await replacementStatus(started.id)).toContain('errored');
    expect(driver.readyEndpoints(w.protonId)).toHaveLength(1);
    await waitFor(() => driver.snapshot(started.candidateProtonIds[0])?.overallStatus.state === 'stopped', 'candidate stopped', 10_000);
    const finished = (await store.readStream(`workload-${w.workloadId}`)).find((e) => e.type === 'workload.replacement-finished');
    expect(finished?.data).toMatchObject({ outcome: 'errored', message: expect.stringMatching(/did not become ready/) });
  }, 60_000);

  it('cancels a canary paused for a manual resume, and resumes another to completion', async () => {
    const w = await running(1);
    const next = newId();
    ok(await send({ name: 'CreateArtifact', artifactId: next, input: echo() }, next));
    const paused = { artifactId: next, strategy: 'canary' as const, config: { canarySteps: [{ trafficPercent: 25, pauseMinutes: null }] } };
    const first = ok(await send({ name: 'StartReplacement', workloadId: w.workloadId, replacementId: newId(), candidateProtonId: newId(), input: paused as never }, w.workloadId));
    await waitFor(async () => (await replacementStatus(first.id)).includes('staged'), 'canary step', 30_000, 200);
    const canceled = ok(await send({ name: 'CancelReplacement', workloadId: w.workloadId }, w.workloadId));
    expect(canceled.id).toBe(first.id);
    await waitFor(async () => (await replacementStatus(first.id)).includes('canceled'), 'canceled', 30_000, 200);
    expect(driver.readyEndpoints(w.protonId)).toHaveLength(1);

    const second = ok(await send({ name: 'StartReplacement', workloadId: w.workloadId, replacementId: newId(), candidateProtonId: newId(), input: paused as never }, w.workloadId));
    await waitFor(async () => (await replacementStatus(second.id)).includes('staged'), 'canary step', 30_000, 200);
    expect(await send({ name: 'ResumeReplacement', workloadId: w.workloadId }, w.workloadId)).toMatchObject({ ok: true });
    await waitFor(async () => (await replacementStatus(second.id)).includes('completed'), 'completed', 30_000, 200);
    expect(driver.readyEndpoints(second.candidateProtonIds[0])).toHaveLength(1);
  }, 90_000);
});
