import { Topics, WorkloadIntegrationEvent } from '@wcp/contracts';
import { KafkaBus } from '@wcp/messaging';
import { requireKafka, waitFor } from '@wcp/testing';
import { waitForStatus } from './api.helpers';
import { echoArtifact, startDistributedSystem, System } from './system.harness';

/**
 * The outbox: an event appended but not yet published when the workload service dies is
 * published after the restart — once per consumer after deduplication by event id, in stream
 * order.
 */
describe('outbox across a crash between append and publish (distributed)', () => {
  let system: System;
  let bus: KafkaBus;
  const received: WorkloadIntegrationEvent[] = [];

  beforeAll(async () => {
    // The relay is off in the first life of the service: every append stays unpublished.
    system = await startDistributedSystem({ 'workload-service': { OUTBOX_RELAY_ENABLED: 'false' } });
    bus = new KafkaBus({ brokers: requireKafka(), clientId: 'outbox-e2e', namespace: system.kafkaNamespace });
    await bus.subscribe({
      topic: Topics.events,
      groupId: 'outbox-e2e-consumer',
      fromBeginning: true,
      handleBatch: async (messages) => messages.map((m) => (received.push(m.value as WorkloadIntegrationEvent), { kind: 'ok' as const })),
    });
  }, 180_000);

  afterAll(async () => {
    await bus?.close();
    await system?.stop();
  });

  it('publishes what was appended before the crash, exactly once per consumer after dedup', async () => {
    const created = await system.api.post('/api/v2/workloads', { name: 'outbox', artifact: echoArtifact() });
    expect(created.status).toBe(201);
    const id = created.body.id;
    // A create deploys: the runtime appends its status changes too; the patch lands after them.
    await waitForStatus(system.api, id, 'running');
    expect((await system.api.patch(`/api/v2/workloads/${id}`, { description: 'changed' })).status).toBe(200);
    await new Promise((r) => setTimeout(r, 1000));
    expect(received.filter((e) => e.workloadId === id)).toHaveLength(0);
    // What was appended before the crash, oldest first, as the events API reads it from the store.
    const appended = (await system.api.get(`/api/v2/workloads/${id}/events?limit=100`)).body.data.map((e: { eventType: string }) => e.eventType).reverse();
    expect(appended.filter((t: string) => t !== 'Status Changed')).toEqual(['Workload Created', 'Start Requested', 'Workload Updated']);

    await system.crashAndRestart('workload-service', { OUTBOX_RELAY_ENABLED: 'true' });
    const mine = await waitFor(() => {
      const events = received.filter((e) => e.workloadId === id);
      return events.length >= appended.length ? events : undefined;
    }, 'the outbox to publish', 30_000);
    await new Promise((r) => setTimeout(r, 1500));
    const deduped = [...new Map(received.filter((e) => e.workloadId === id).map((e) => [e.eventId, e])).values()];
    // Every appended event once, in stream order; anything after is what the runtime appended since.
    expect(deduped.slice(0, appended.length).map((e) => [e.eventType, e.streamVersion])).toEqual(appended.map((t: string, n: number) => [t, n + 1]));
    expect(deduped.map((e) => e.streamVersion)).toEqual(deduped.map((_, n) => n + 1));
    expect(mine[0]).toMatchObject({ type: 'workload.event', schemaVersion: 1, workloadId: id, actorId: created.body.creator.id });
  }, 120_000);
});
