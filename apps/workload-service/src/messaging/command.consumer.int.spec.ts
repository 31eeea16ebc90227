import { CommandEnvelope, CommandResult, Topics } from '@wcp/contracts';
import { KafkaBus } from '@wcp/messaging';
import { requireKafka, requireMongo, uniqueName, waitFor } from '@wcp/testing';
import { createWorkloadService, loadConfig, WorkloadServiceHandle } from '../index';
import { EVENT_STORE, EventStore } from '../event-store/event-store';

/**
 * Redelivery against the real broker and a real MongoDB-wire server: the same command message
 * delivered twice is applied once, and both deliveries get the same answer.
 */
describe('command consumer on Kafka + FerretDB', () => {
  const namespace = uniqueName('it');
  let bus: KafkaBus;
  let service: WorkloadServiceHandle;
  const results: CommandResult[] = [];

  beforeAll(async () => {
    bus = new KafkaBus({ brokers: requireKafka(), clientId: 'it', namespace, topics: [{ topic: Topics.commands, partitions: 2 }, { topic: Topics.commandResults, partitions: 1 }] });
    const config = loadConfig({ MONGODB_URI: requireMongo(), MONGODB_DB: namespace, INTERNAL_PORT: '0', BOOTSTRAP_API_TOKEN: 'integration-admin-token-000' });
    service = await createWorkloadService({ config, bus, logger: false });
    await bus.subscribe({
      topic: Topics.commandResults,
      groupId: 'it-results',
      fromBeginning: true,
      handleBatch: async (messages) => messages.map((m) => (results.push(m.value as CommandResult), { kind: 'ok' as const })),
    });
  }, 60_000);

  afterAll(async () => {
    await service?.close();
    await bus?.close();
  });

  it('applies a command delivered twice exactly once', async () => {
    let adminId = '';
    for await (const c of service.app.get<EventStore>(EVENT_STORE).replay()) if (c.streamId.startsWith('user-')) adminId = (c.events[0].data as { userId: string }).userId;
    const workloadId = 'abcdefabcdefabcdefabcdef';
    const envelope: CommandEnvelope = {
      type: 'command',
      schemaVersion: 1,
      commandId: 'cmd-redelivered-0001',
      correlationId: 'corr-redelivered-0001',
      key: workloadId,
      actor: { id: adminId, username: 'admin', isAdmin: true, groupIds: [], orgId: null },
      issuedAt: '2026-11-28T10:00:00.000Z',
      command: {
        name: 'CreateWorkload',
        workloadId,
        artifactId: 'fedcbafedcbafedcbafedcba',
        input: {
          name: 'twice',
          importance: 'low',
          tags: [],
          artifact: {
            name: 'a',
            type: 'service',
            spec: { containerGroups: [{ name: 'default', containers: [{ name: 'main', primary: true, imageUri: 'local/echo-model:1', port: 8000, entrypoint: [], environmentVars: [] }] }] },
          },
        },
      },
    };
    await bus.publish(Topics.commands, [{ key: workloadId, value: envelope }]);
    await bus.publish(Topics.commands, [{ key: workloadId, value: envelope }]);
    const replies = await waitFor(() => {
      const mine = results.filter((r) => r.correlationId === envelope.correlationId);
      return mine.length >= 2 ? mine : undefined;
    }, 'two replies', 30_000);
    expect(replies.map((r) => r.outcome.ok)).toEqual([true, true]);
    expect(replies[1].outcome).toEqual(replies[0].outcome);
    const stream = await service.app.get<EventStore>(EVENT_STORE).readStream(`workload-${workloadId}`);
    expect(stream.map((e) => e.type)).toEqual(['workload.created']);
    const artifact = await service.app.get<EventStore>(EVENT_STORE).readStream('artifact-fedcbafedcbafedcbafedcba');
    expect(artifact.map((e) => e.type)).toEqual(['artifact.created', 'artifact.attached']);
  }, 60_000);

  it('dead-letters an unreadable command instead of blocking the partition', async () => {
    const dlq: unknown[] = [];
    await bus.subscribe({ topic: `${Topics.commands}.dlq`, groupId: 'it-dlq', fromBeginning: true, handleBatch: async (m) => m.map((x) => (dlq.push(x.headers), { kind: 'ok' as const })) });
    await bus.publish(Topics.commands, [{ key: 'x', value: { type: 'command', schemaVersion: 99 } }]);
    const headers = await waitFor(() => (dlq.length > 0 ? dlq[0] : undefined), 'a dead letter', 30_000);
    expect(headers).toMatchObject({ 'x-dead-letter-reason': expect.stringContaining('invalid command envelope') });
  }, 60_000);
});
