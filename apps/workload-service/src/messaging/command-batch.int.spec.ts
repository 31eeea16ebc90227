import { CommandEnvelope, CommandResult, Topics } from '@wcp/contracts';
import { KafkaBus } from '@wcp/messaging';
import { requireKafka, requireMongo, uniqueName, waitFor } from '@wcp/testing';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EVENT_STORE, EventStore } from '../event-store/event-store';
import { createWorkloadService, loadConfig, WorkloadServiceHandle } from '../index';

/**
 * Group commit and poison messages against the real broker and FerretDB, with one command
 * partition so every message below shares a partition (and so a batch): refusals and
 * conflicts fail only their own command, and a command that always throws is set aside after
 * its bounded attempts while the commands behind it on the partition are applied.
 */
describe('command batches on Kafka + FerretDB (one partition)', () => {
  const namespace = uniqueName('it-batch');
  let bus: KafkaBus;
  let service: WorkloadServiceHandle;
  let store: EventStore;
  let admin: CommandEnvelope['actor'];
  const results: CommandResult[] = [];
  const deadLetters: Array<{ headers: Record<string, string>; value: unknown }> = [];
  let n = 0;

  const envelope = (actor: CommandEnvelope['actor'], command: CommandEnvelope['command'], key: string): CommandEnvelope => {
    n += 1;
    return { type: 'command', schemaVersion: 1, commandId: `cmd-batch-${n}-0000`, correlationId: `corr-batch-${n}-0000`, key, actor, issuedAt: '2026-12-02T10:00:00.000Z', command };
  };
  const send = async (...envelopes: CommandEnvelope[]) => {
    await bus.publish(Topics.commands, envelopes.map((e) => ({ key: e.key, value: e })));
    return waitFor(() => {
      const replies = envelopes.map((e) => results.find((r) => r.correlationId === e.correlationId));
      return replies.every(Boolean) ? replies.map((r) => r!.outcome) : undefined;
    }, 'replies', 60_000);
  };
  const workloadId = (i: number) => `b0b0b0b0b0b0b0b0b0b0b0${i.toString(16).padStart(2, '0')}`;
  const create = (i: number) =>
    envelope(admin, {
      name: 'CreateWorkload',
      workloadId: workloadId(i),
      artifactId: `a0a0a0a0a0a0a0a0a0a0a0${i.toString(16).padStart(2, '0')}`,
      input: {
        name: `batch-${i}`,
        importance: 'low',
        tags: [],
        artifact: { name: `batch-${i}`, type: 'service', spec: { containerGroups: [{ name: 'default', containers: [{ name: 'main', primary: true, imageUri: 'local/echo-model:1', port: 8000, entrypoint: [], environmentVars: [] }] }] } },
      },
    }, workloadId(i));
  const rename = (actor: CommandEnvelope['actor'], i: number, description: string) => envelope(actor, { name: 'UpdateWorkload', workloadId: workloadId(i), input: { description } }, workloadId(i));

  beforeAll(async () => {
    bus = new KafkaBus({ brokers: requireKafka(), clientId: 'it-batch', namespace, topics: [{ topic: Topics.commands, partitions: 1 }, { topic: Topics.commandResults, partitions: 1 }] });
    const config = loadConfig({
      MONGODB_URI: requireMongo(),
      MONGODB_DB: namespace,
      INTERNAL_PORT: '0',
      BOOTSTRAP_API_TOKEN: 'integration-admin-token-000',
      DATA_DIR: mkdtempSync(join(tmpdir(), 'wcp-batch-it-')),
      COMMAND_PARTITIONS: '1',
      COMMAND_MAX_ATTEMPTS: '3',
    });
    service = await createWorkloadService({ config, bus, logger: false });
    store = service.app.get<EventStore>(EVENT_STORE);
    for await (const c of store.replay()) if (c.streamId.startsWith('user-')) admin = { id: (c.events[0].data as { userId: string }).userId, username: 'admin', isAdmin: true, groupIds: [], orgId: null };
    await bus.subscribe({ topic: Topics.commandResults, groupId: 'it-batch-results', fromBeginning: true, handleBatch: async (m) => m.map((x) => (results.push(x.value as CommandResult), { kind: 'ok' as const })) });
    await bus.subscribe({ topic: `${Topics.commands}.dlq`, groupId: 'it-batch-dlq', fromBeginning: true, handleBatch: async (m) => m.map((x) => (deadLetters.push({ headers: x.headers, value: x.value }), { kind: 'ok' as const })) });
    expect(await send(create(1), create(2))).toMatchObject([{ ok: true }, { ok: true }]);
  }, 60_000);

  afterAll(async () => {
    await service?.close();
    await bus?.close();
  });

  it('applies exactly the good commands of a batch that also holds a conflict and refusals', async () => {
    const stranger = { id: 'c0c0c0c0c0c0c0c0c0c0c0c0', username: 'stranger', isAdmin: false, groupIds: [], orgId: null };
    const outcomes = await send(rename(admin, 1, 'good one'), create(1), rename(stranger, 2, 'not allowed'), rename(admin, 2, 'good two'), rename(admin, 1, 'good three'));
    expect(outcomes).toMatchObject([
      { ok: true, value: { description: 'good one' } },
      { ok: false, error: { kind: 'conflict' } },
      { ok: false, error: { kind: 'not_found', code: 'WORKLOAD_NOT_FOUND' } },
      { ok: true, value: { description: 'good two' } },
      { ok: true, value: { description: 'good three' } },
    ]);
    const changes = async (i: number) => (await store.readStream(`workload-${workloadId(i)}`)).filter((e) => e.type === 'workload.updated').map((e) => (e.data as { changes: { description: string } }).changes.description);
    expect(await changes(1)).toEqual(['good one', 'good three']);
    expect(await changes(2)).toEqual(['good two']);
  }, 60_000);

  it('dead-letters a command that always throws, answers it 500 with its id, and applies the commands behind it', async () => {
    // A stream the decider cannot fold: every command on it throws (a defect, not an outage).
    await store.append({ streamId: `workload-${workloadId(3)}`, expectedVersion: 0, commitId: 'corrupt-3', actorId: null, occurredAt: '2026-12-02T10:00:00.000Z', events: [{ type: 'workload.unknown-to-the-decider', schemaVersion: 1, data: {} }, { type: 'workload.unknown-to-the-decider', schemaVersion: 1, data: {} }] });
    const poison = rename(admin, 3, 'never');
    const [failed, after] = await send(poison, rename(admin, 2, 'behind the poison'));
    expect(failed).toMatchObject({ ok: false, error: { kind: 'internal', code: 'COMMAND_FAILED', message: expect.stringContaining(poison.commandId) } });
    expect(after).toMatchObject({ ok: true, value: { description: 'behind the poison' } });
    const letter = await waitFor(() => deadLetters.find((d) => (d.value as CommandEnvelope).commandId === poison.commandId), 'the dead letter', 30_000);
    expect(letter.headers['x-dead-letter-reason']).toMatch(/failed 3 times/);
    const health = (await (await fetch(`${service.url}/internal/health`)).json()) as { commands: unknown };
    expect(health.commands).toEqual({ deadLettered: 1 });
  }, 60_000);
});
