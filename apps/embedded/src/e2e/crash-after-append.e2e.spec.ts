import { CommandEnvelope, CommandResult, Topics } from '@wcp/contracts';
import { KafkaBus } from '@wcp/messaging';
import { freePort, requireKafka, requireMongo, RunningProcess, startNode, uniqueName, waitFor } from '@wcp/testing';
import { MongoClient } from 'mongodb';
import { mkdtempSync } from 'node:fs';
import { createConnection, createServer, Server, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/**
 * A workload-service process dies after a batch's commits are written and before any reply is
 * published: a TCP proxy between it and FerretDB forwards its `insert` into `commits`, then
 * freezes every connection (the projection, and so the reply, can never happen), and the
 * process is SIGKILLed. A second instance takes the partition over, receives the same batch
 * (its offset was never committed), and answers every command: the written ones from their
 * commits (the original results), the rest applied now. Each command is applied exactly once.
 */
const ADMIN_TOKEN = 'e2e-crash-admin-token-0123456789';
const SERVICE = resolve(__dirname, '../../../workload-service/dist/main.js');
const INSERT_COMMITS = Buffer.concat([Buffer.from('insert\0'), Buffer.from([8, 0, 0, 0]), Buffer.from('commits\0')]);

/** Forwards to FerretDB until it has passed on an insert into `commits` while armed; then forwards nothing, ever. */
class FreezingProxy {
  armed = false;
  frozen = false;
  private readonly sockets = new Set<Socket>();
  private server: Server | null = null;

  async listen(target: { host: string; port: number }): Promise<number> {
    this.server = createServer((client) => {
      const upstream = createConnection(target);
      this.sockets.add(client).add(upstream);
      client.on('data', (chunk) => {
        if (this.frozen) return;
        upstream.write(chunk);
        if (this.armed && chunk.includes(INSERT_COMMITS)) this.frozen = true;
      });
      upstream.on('data', (chunk) => {
        if (!this.frozen) client.write(chunk);
      });
      for (const s of [client, upstream]) s.on('error', () => undefined).on('close', () => (client.destroy(), upstream.destroy()));
    });
    const port = await freePort();
    await new Promise<void>((ok) => this.server!.listen(port, '127.0.0.1', ok));
    return port;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise((ok) => this.server?.close(ok));
  }
}

describe('crash between the commits insert and the replies', () => {
  const namespace = uniqueName('e2e-crash');
  const proxy = new FreezingProxy();
  const results: CommandResult[] = [];
  let bus: KafkaBus;
  let mongo: MongoClient;
  let first: RunningProcess | null = null;
  let second: RunningProcess | null = null;
  let n = 0;

  const mongoUri = new URL(requireMongo());
  const env = (uri: string, port: number) => ({
    KAFKA_BROKERS: requireKafka().join(','),
    KAFKA_NAMESPACE: namespace,
    MONGODB_URI: uri,
    MONGODB_DB: namespace,
    INTERNAL_PORT: String(port),
    BOOTSTRAP_API_TOKEN: ADMIN_TOKEN,
    DATA_DIR: mkdtempSync(join(tmpdir(), 'wcp-e2e-crash-')),
    COMMAND_PARTITIONS: '1',
    TZ: 'UTC',
  });
  const start = async (uri: string) => {
    const port = await freePort();
    const p = startNode(SERVICE, env(uri, port));
    await waitFor(async () => {
      if (p.child.exitCode !== null) throw new Error(p.output());
      return fetch(`http://127.0.0.1:${port}/internal/health`).then((r) => r.ok, () => false);
    }, 'workload service', 90_000);
    return { p, url: `http://127.0.0.1:${port}` };
  };
  const admin = { id: '', username: 'admin', isAdmin: true, groupIds: [], orgId: null };
  const envelope = (command: CommandEnvelope['command'], key: string): CommandEnvelope => {
    n += 1;
    const id = `${n}`.padStart(4, '0');
    return { type: 'command', schemaVersion: 1, commandId: `cmd-crash-${id}-0000`, correlationId: `corr-crash-${id}-0000`, key, actor: admin, issuedAt: '2026-12-02T10:00:00.000Z', command };
  };
  const replies = (envelopes: CommandEnvelope[]) => envelopes.map((e) => results.find((r) => r.correlationId === e.correlationId));
  const userId = (i: number) => `d0d0d0d0d0d0d0d0d0d0d0${i.toString(16).padStart(2, '0')}`;
  const createUser = (i: number) => envelope({ name: 'CreateUser', userId: userId(i), tokenHash: `hash-${i}`, input: { username: `crash-${i}`, fullName: null, orgId: null, groupIds: [] } }, userId(i));
  const rename = (i: number, fullName: string) => envelope({ name: 'UpdateUser', userId: userId(i), input: { fullName } }, userId(i));

  beforeAll(async () => {
    mongo = await MongoClient.connect(requireMongo());
    const proxyPort = await proxy.listen({ host: mongoUri.hostname, port: Number(mongoUri.port) });
    const viaProxy = new URL(mongoUri);
    viaProxy.port = String(proxyPort);
    const started = await start(viaProxy.toString());
    first = started.p;
    const users = (await (await fetch(`${started.url}/internal/users?limit=100`)).json()) as { data: Array<{ id: string; username: string }> };
    admin.id = users.data.find((u) => u.username === 'admin')!.id;
    bus = new KafkaBus({ brokers: requireKafka(), clientId: 'e2e-crash', namespace, topics: [{ topic: Topics.commands, partitions: 1 }, { topic: Topics.commandResults, partitions: 1 }] });
    await bus.subscribe({ topic: Topics.commandResults, groupId: 'e2e-crash-results', fromBeginning: true, handleBatch: async (m) => m.map((x) => (results.push(x.value as CommandResult), { kind: 'ok' as const })) });
    const setup = [1, 2, 3].map(createUser);
    await bus.publish(Topics.commands, setup.map((e) => ({ key: e.key, value: e })));
    const created = await waitFor(() => (replies(setup).every(Boolean) ? replies(setup) : undefined), 'users created', 60_000);
    expect(created.map((r) => r!.outcome.ok)).toEqual([true, true, true]);
  }, 150_000);

  afterAll(async () => {
    await first?.kill();
    await second?.stop();
    await bus?.close();
    await proxy.close();
    await mongo?.close();
  });

  it('answers every command of the batch once, from its first result where it was written', async () => {
    const batch = [rename(1, 'one'), rename(2, 'two'), rename(3, 'three')];
    proxy.armed = true;
    await bus.publish(Topics.commands, batch.map((e) => ({ key: e.key, value: e })));
    await waitFor(() => proxy.frozen, 'the commits insert', 30_000, 5);
    const commits = mongo.db(namespace).collection<{ _id: string; commitId: string; result: string }>('commits');
    // The insert reached FerretDB; give it a moment to apply, then check what the dead process left.
    const written = await waitFor(async () => {
      const docs = await commits.find({ _id: { $in: [1, 2, 3].map((i) => `user-${userId(i)}|2`) } }).toArray();
      return docs.length > 0 ? docs : undefined;
    }, 'commits written by the first instance', 10_000);
    await first!.kill();
    first = null;
    expect(replies(batch).filter(Boolean)).toEqual([]);

    second = (await start(requireMongo())).p;
    const answered = await waitFor(() => (replies(batch).every(Boolean) ? replies(batch) : undefined), 'replies from the second instance', 90_000);
    expect(answered.map((r) => r!.outcome)).toMatchObject([
      { ok: true, value: { fullName: 'one' } },
      { ok: true, value: { fullName: 'two' } },
      { ok: true, value: { fullName: 'three' } },
    ]);
    // Applied once: each user stream holds its creation and exactly one update, this command's.
    for (const [k, i] of [1, 2, 3].entries()) {
      const docs = await commits.find({ streamId: `user-${userId(i)}` }).toArray();
      expect(docs).toHaveLength(2);
      expect(docs.filter((d) => d.commitId === batch[k].commandId)).toHaveLength(1);
    }
    expect(written.length).toBeGreaterThan(0);
  }, 180_000);
});
