import { CommandEnvelope, CommandResult, Topics } from '@wcp/contracts';
import { KafkaBus } from '@wcp/messaging';
import { requireKafka, requireMongo, uniqueName, waitFor } from '@wcp/testing';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createWorkloadService, loadConfig, WorkloadServiceHandle } from '../index';
import { EVENT_STORE, EventStore } from '../event-store/event-store';

/**
 * Redelivery against the real broker and a real MongoDB-wire server: the same command message
 * delivered twice is applied once, and both deliveries get the same answer. A create deploys,
 * so the local runtime starts one replica (its state under a temporary DATA_DIR).
 */
describe('command consumer on Kafka + FerretDB', () => {
  const namespace = uniqueName('it');
  let bus: KafkaBus;
  let service: WorkloadServiceHandle;
  const results: CommandResult[] = [];

  beforeAll(async () => {
    bus = new KafkaBus({ brokers: requireKafka(), clientId: 'it', namespace, topics: [{ topic: Topics.commands, partitions: 2 }, { topic: Topics.commandResults, partitions: 1 }] });
    const config = loadConfig({
      MONGODB_URI: requireMongo(),
      MONGODB_DB: namespace,
      INTERNAL_PORT: '0',
      BOOTSTRAP_API_TOKEN: 'integration-admin-token-000',
      DATA_DIR: mkdtempSync(join(tmpdir(), 'wcp-commands-it-')),
    });
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
    // The same workload; the answer renders it as it is when answered, and the runtime may have
    // moved its status (and so updatedAt) on between the two deliveries.
    const first = replies[0].outcome as { ok: true; value: Record<string, unknown> };
    expect(replies[1].outcome).toEqual({ ok: true, value: { ...first.value, status: expect.any(String), updatedAt: expect.any(String) } });
    expect(first.value).toMatchObject({ id: workloadId, protonId: expect.stringMatching(/^[0-9a-f]{24}$/) });
    for (const r of replies) expect(['submitted', 'provisioning', 'launching', 'running']).toContain((r.outcome as { value: { status: string } }).value.status);
    // One creating commit (created + the first start); what follows is the runtime's status changes.
    const stream = await service.app.get<EventStore>(EVENT_STORE).readStream(`workload-${workloadId}`);
    expect(stream.slice(0, 2).map((e) => e.type)).toEqual(['workload.created', 'workload.start-requested']);
    expect(new Set(stream.slice(0, 2).map((e) => e.commitId)).size).toBe(1);
    expect(stream.slice(2).map((e) => e.type)).toEqual(stream.slice(2).map(() => 'workload.status-changed'));
    const artifact = await service.app.get<EventStore>(EVENT_STORE).readStream('artifact-fedcbafedcbafedcbafedcba');
    expect(artifact.map((e) => e.type)).toEqual(['artifact.created', 'artifact.attached']);
  }, 60_000);

  it('re-checks access in the aggregate: a command queued behind the removal of its caller\'s share is refused', async () => {
    let adminId = '';
    for await (const c of service.app.get<EventStore>(EVENT_STORE).replay()) if (c.streamId.startsWith('user-')) adminId = (c.events[0].data as { userId: string }).userId;
    const admin = { id: adminId, username: 'admin', isAdmin: true, groupIds: [], orgId: null };
    const carolId = '0a0a0a0a0a0a0a0a0a0a0a0a';
    const carol = { id: carolId, username: 'carol', isAdmin: false, groupIds: [], orgId: null };
    const workloadId = 'abcdefabcdefabcdefabcdef';
    let n = 0;
    const envelope = (actor: CommandEnvelope['actor'], command: CommandEnvelope['command'], key = workloadId): CommandEnvelope => {
      n += 1;
      return { type: 'command', schemaVersion: 1, commandId: `cmd-race-${n}-000000`, correlationId: `corr-race-${n}-000000`, key, actor, issuedAt: '2026-12-02T10:00:00.000Z', command };
    };
    const outcome = async (...envelopes: CommandEnvelope[]) => {
      // One publish: the messages land in this order on the workload's partition.
      await bus.publish(Topics.commands, envelopes.map((e) => ({ key: e.key, value: e })));
      return waitFor(() => {
        const replies = envelopes.map((e) => results.find((r) => r.correlationId === e.correlationId));
        return replies.every(Boolean) ? replies.map((r) => r!.outcome) : undefined;
      }, 'replies', 30_000);
    };
    const share = (roles: Array<{ id: string; role: 'OWNER' | 'USER' }>) =>
      envelope(admin, { name: 'UpdateSharedRoles', workloadId, input: { operation: 'updateRoles', roles: roles.map((r) => ({ shareRecipientType: 'user' as const, ...r })) } });
    const rename = (description: string) => envelope(carol, { name: 'UpdateWorkload', workloadId, input: { description } });

    expect(await outcome(envelope(admin, { name: 'CreateUser', userId: carolId, tokenHash: 'f'.repeat(64), input: { username: 'carol', groupIds: [] } }, carolId))).toMatchObject([{ ok: true }]);
    expect(await outcome(share([{ id: adminId, role: 'OWNER' }, { id: carolId, role: 'OWNER' }]), rename('by carol'))).toMatchObject([{ ok: true }, { ok: true, value: { description: 'by carol' } }]);
    // The gateway let both through (Carol was an owner when it looked); the stream orders them.
    expect(await outcome(share([{ id: adminId, role: 'OWNER' }]), rename('too late'))).toMatchObject([
      { ok: true },
      { ok: false, error: { kind: 'not_found', code: 'WORKLOAD_NOT_FOUND' } },
    ]);
    expect(await outcome(share([{ id: adminId, role: 'OWNER' }, { id: carolId, role: 'USER' }]), rename('as a user'))).toMatchObject([
      { ok: true },
      { ok: false, error: { kind: 'forbidden', message: expect.stringContaining('CAN_UPDATE') } },
    ]);
    const stream = await service.app.get<EventStore>(EVENT_STORE).readStream(`workload-${workloadId}`);
    expect(stream.filter((e) => e.type === 'workload.updated').map((e) => (e.data as { changes: unknown }).changes)).toEqual([{ description: 'by carol' }]);
  }, 60_000);

  it('dead-letters an unreadable command instead of blocking the partition', async () => {
    const dlq: unknown[] = [];
    await bus.subscribe({ topic: `${Topics.commands}.dlq`, groupId: 'it-dlq', fromBeginning: true, handleBatch: async (m) => m.map((x) => (dlq.push(x.headers), { kind: 'ok' as const })) });
    await bus.publish(Topics.commands, [{ key: 'x', value: { type: 'command', schemaVersion: 99 } }]);
    const headers = await waitFor(() => (dlq.length > 0 ? dlq[0] : undefined), 'a dead letter', 30_000);
    expect(headers).toMatchObject({ 'x-dead-letter-reason': expect.stringContaining('invalid command envelope') });
  }, 60_000);
});
