import { CommandEnvelope, CommandResult, Topics } from '@wcp/contracts';
import { KafkaBus } from '@wcp/messaging';
import { requireKafka, requireMongo, uniqueName, waitFor } from '@wcp/testing';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mongoose, { Connection } from 'mongoose';
import { EVENT_STORE, EventStore } from '../event-store/event-store';
import { createWorkloadService, loadConfig, WorkloadServiceHandle } from '../index';
import { MongoReadModelStore } from '../read-models/mongo.read-model-store';
import { WORKLOADS, WorkloadDoc } from '../workloads/projections/workload.projection';

const WORKLOADS_N = 30;
const UPDATES = 12;

/**
 * Many commands for many workloads at once through Kafka into FerretDB: the projection starts
 * each workload's document from this process's own last write (no read per command), and under
 * that load every command is answered, and every read model equals what the event stream says.
 * Half-way, another writer (standing in for another instance's projection of an artifact) sets a
 * field of every document that the workload's own events never touch: the writes that follow keep it.
 */
describe('command load on Kafka + FerretDB', () => {
  const namespace = uniqueName('it-load');
  let bus: KafkaBus;
  let service: WorkloadServiceHandle;
  let store: EventStore;
  let connection: Connection;
  let readModels: MongoReadModelStore;
  let admin: CommandEnvelope['actor'];
  const results = new Map<string, CommandResult>();
  let n = 0;

  const envelope = (command: CommandEnvelope['command'], key: string): CommandEnvelope => {
    n += 1;
    return { type: 'command', schemaVersion: 1, commandId: `cmd-load-${n}-0000`, correlationId: `corr-load-${n}-0000`, key, actor: admin, issuedAt: '2026-12-03T10:00:00.000Z', command };
  };
  const send = async (envelopes: CommandEnvelope[]) => {
    await bus.publish(Topics.commands, envelopes.map((e) => ({ key: e.key, value: e })));
    return waitFor(() => {
      const replies = envelopes.map((e) => results.get(e.correlationId));
      return replies.every(Boolean) ? replies.map((r) => r!.outcome) : undefined;
    }, 'replies', 120_000);
  };
  const workloadId = (i: number) => `10ad10ad10ad10ad10ad10${i.toString(16).padStart(2, '0')}`;
  const create = (i: number) =>
    envelope({
      name: 'CreateWorkload',
      workloadId: workloadId(i),
      artifactId: `a10ad10ad10ad10ad10ad1${i.toString(16).padStart(2, '0')}`,
      input: {
        name: `load-${i}`,
        importance: 'low',
        tags: [],
        artifact: { name: `load-${i}`, type: 'service', spec: { containerGroups: [{ name: 'default', containers: [{ name: 'main', primary: true, imageUri: 'local/echo-model:1', port: 8000, entrypoint: [], environmentVars: [] }] }] } },
      },
    }, workloadId(i));
  const update = (i: number, u: number) => envelope({ name: 'UpdateWorkload', workloadId: workloadId(i), input: { description: `w${i} u${u}` } }, workloadId(i));
  /** Every workload's updates interleaved, as many clients would send them. */
  const round = (from: number, to: number) => Array.from({ length: to - from }, (_, k) => Array.from({ length: WORKLOADS_N }, (_, i) => update(i, from + k))).flat();

  beforeAll(async () => {
    bus = new KafkaBus({ brokers: requireKafka(), clientId: 'it-load', namespace, topics: [{ topic: Topics.commands, partitions: 4 }, { topic: Topics.commandResults, partitions: 1 }] });
    const config = loadConfig({
      MONGODB_URI: requireMongo(),
      MONGODB_DB: namespace,
      INTERNAL_PORT: '0',
      BOOTSTRAP_API_TOKEN: 'integration-admin-token-000',
      DATA_DIR: mkdtempSync(join(tmpdir(), 'wcp-load-it-')),
      COMMAND_PARTITIONS: '4',
    });
    service = await createWorkloadService({ config, bus, logger: false });
    store = service.app.get<EventStore>(EVENT_STORE);
    for await (const c of store.replay()) if (c.streamId.startsWith('user-')) admin = { id: (c.events[0].data as { userId: string }).userId, username: 'admin', isAdmin: true, groupIds: [], orgId: null };
    connection = await mongoose.createConnection(requireMongo(), { dbName: namespace }).asPromise();
    readModels = new MongoReadModelStore(connection);
    await bus.subscribe({ topic: Topics.commandResults, groupId: 'it-load-results', fromBeginning: true, handleBatch: async (m) => m.map((x) => (results.set((x.value as CommandResult).correlationId, x.value as CommandResult), { kind: 'ok' as const })) });
    const created = await send(Array.from({ length: WORKLOADS_N }, (_, i) => create(i)));
    expect(created.filter((o) => !o.ok)).toEqual([]);
  }, 120_000);

  afterAll(async () => {
    await connection?.close();
    await service?.close();
    await bus?.close();
  });

  it('answers every command and leaves each read model equal to its stream, keeping a field set by another writer', async () => {
    const half = UPDATES / 2;
    const first = await send(round(0, half));
    expect(first.filter((o) => !o.ok)).toEqual([]);
    // Another instance's write of a field no workload event touches (as an artifact summary is).
    for (let i = 0; i < WORKLOADS_N; i++) await readModels.setWhere(WORKLOADS, { _id: workloadId(i) }, { foreign: `set by another writer ${i}` });
    const second = await send(round(half, UPDATES));
    expect(second.filter((o) => !o.ok)).toEqual([]);

    for (let i = 0; i < WORKLOADS_N; i++) {
      // The lifecycle saga appends status changes of its own (a replica became ready) at any time:
      // compare once the projection has caught up with the stream as it stands.
      const { events, doc } = await waitFor(async () => {
        const stream = await store.readStream(`workload-${workloadId(i)}`);
        const current = await readModels.get<WorkloadDoc>(WORKLOADS, workloadId(i));
        return current?.v === stream.length ? { events: stream, doc: current } : undefined;
      }, `read model of workload ${i} caught up`, 10_000, 50);
      const descriptions = events.filter((e) => e.type === 'workload.updated').map((e) => (e.data as { changes: { description: string } }).changes.description);
      expect(descriptions).toEqual(Array.from({ length: UPDATES }, (_, u) => `w${i} u${u}`));
      expect(doc).toMatchObject({ v: events.length, description: `w${i} u${UPDATES - 1}`, updatedAt: events.at(-1)!.occurredAt, foreign: `set by another writer ${i}` });
    }
  }, 240_000);
});
