import { Topics, WorkloadIntegrationEvent } from '@wcp/contracts';
import { KafkaBus } from '@wcp/messaging';
import { requireKafka, waitFor } from '@wcp/testing';
import { stopAndWait } from './api.helpers';
import { echoArtifact, startDistributedSystem, System } from './system.harness';

/**
 * Two workload-service instances in one consumer group, against real Kafka and FerretDB: they
 * share the command partitions, one of them publishes the outbox (lease). SIGKILL one in the
 * middle of a stream of commands: the other takes its partitions over, every accepted command
 * is applied exactly once, and every event reaches the topic with no gap in any stream.
 */
const WORKLOADS = 8;
const PATCHES_PER_WORKLOAD = 25;

describe('scale-out: two workload-service instances, one killed mid-run', () => {
  let system: System;
  let bus: KafkaBus;
  const published: WorkloadIntegrationEvent[] = [];

  beforeAll(async () => {
    // Short consumer-group and lease timings are the services' defaults; the gateway waits long enough for a rebalance.
    system = await startDistributedSystem({ gateway: { COMMAND_TIMEOUT_MS: '30000' }, 'workload-service': { OUTBOX_LEASE_MS: '2000' } });
    bus = new KafkaBus({ brokers: requireKafka(), clientId: 'e2e-scale-out', namespace: system.kafkaNamespace });
    await bus.subscribe({
      topic: Topics.events,
      groupId: 'e2e-scale-out-reader',
      fromBeginning: true,
      handleBatch: async (messages) => messages.map((m) => (published.push(m.value as WorkloadIntegrationEvent), { kind: 'ok' as const })),
    });
  }, 180_000);

  afterAll(async () => {
    await bus?.close();
    await system?.stop();
  });

  it('applies every accepted command once and publishes every event, across the kill', async () => {
    const api = system.api;
    const ids: string[] = [];
    for (let i = 0; i < WORKLOADS; i++) {
      const created = await api.post('/api/v2/workloads', { name: `scale-${i}`, artifact: echoArtifact(`scale-${i}`) });
      expect(created.status).toBe(201);
      ids.push(created.body.id);
    }
    // No replica should outlive the instance that runs it: stop them before the second instance joins.
    for (const id of ids) await stopAndWait(api, id, 60_000);
    const second = await system.addWorkloadService!();

    const answers = new Map<string, number>();
    let sent = 0;
    const storm = Promise.all(
      ids.map(async (id) => {
        for (let n = 0; n < PATCHES_PER_WORKLOAD; n++) {
          const description = `${id}:${n}`;
          sent += 1;
          answers.set(description, (await api.patch(`/api/v2/workloads/${id}`, { description })).status);
        }
      }),
    );
    await waitFor(() => sent >= (WORKLOADS * PATCHES_PER_WORKLOAD) / 3, 'a third of the commands sent', 60_000, 10);
    await system.kill(second);
    await storm;

    const accepted = [...answers].filter(([, status]) => status === 200).map(([d]) => d);
    expect(accepted.length).toBeGreaterThan(WORKLOADS * PATCHES_PER_WORKLOAD * 0.9);
    // Anything not accepted was a timeout around the kill (the command may still apply, once).
    expect([...answers].filter(([, s]) => s !== 200)).toEqual([...answers].filter(([, s]) => s !== 200).map(([d]) => [d, 504]));

    for (const id of ids) {
      const events = (await api.get(`/api/v2/workloads/${id}/events?limit=100`)).body.data as Array<{ eventType: string; details: { changes?: { description?: string } } }>;
      const applied = events.filter((e) => e.eventType === 'Workload Updated').map((e) => e.details.changes?.description);
      expect(new Set(applied).size).toBe(applied.length);
      for (const description of accepted.filter((d) => d.startsWith(`${id}:`))) expect(applied).toContain(description);
      // Each workload's commands were sent one after the other: applied in that order (the list is newest first).
      const order = applied.map((d) => Number(d!.split(':')[1])).reverse();
      expect(order).toEqual([...order].sort((a, b) => a - b));
    }

    // The outbox: every event of every stream on the topic, no gap in any stream's versions.
    const streamLengths = new Map<string, number>();
    for (const id of ids) streamLengths.set(id, (await api.get(`/api/v2/workloads/${id}/events?limit=1`)).body.totalCount);
    await waitFor(() => ids.every((id) => new Set(published.filter((e) => e.workloadId === id).map((e) => e.eventId)).size === streamLengths.get(id)), 'every event published', 60_000, 200);
    for (const id of ids) {
      const versions = [...new Set(published.filter((e) => e.workloadId === id).map((e) => e.streamVersion))].sort((a, b) => a - b);
      expect(versions).toEqual(Array.from({ length: streamLengths.get(id)! }, (_, i) => i + 1));
    }
  }, 300_000);
});
