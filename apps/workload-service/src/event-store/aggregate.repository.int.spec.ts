import { requireMongo, uniqueName } from '@wcp/testing';
import mongoose, { Connection } from 'mongoose';
import type { ReadModelStore } from '../read-models/read-model-store';
import { AggregateRepository } from './aggregate.repository';
import { CommitPipeline } from './commit.pipeline';
import { MongoEventStore } from './mongo.event-store';

/**
 * The load → decide → append loop on a real MongoDB-wire server: one command delivered twice
 * at the same moment (a redelivery racing the original, or two instances during a rebalance)
 * is applied once, and both deliveries answer the first result.
 */
describe('aggregate repository on FerretDB', () => {
  let connection: Connection;
  let repository: AggregateRepository;
  let store: MongoEventStore;

  beforeAll(async () => {
    connection = await mongoose.createConnection(requireMongo(), { dbName: uniqueName('repo') }).asPromise();
    store = new MongoEventStore(connection);
    await store.init();
    repository = new AggregateRepository(store, new CommitPipeline(store, {} as ReadModelStore, []));
  });

  afterAll(async () => {
    await connection?.close();
  });

  type Counter = { version: number; count: number };
  const increment = (streamId: string, commitId: string) =>
    repository.execute<Counter, { type: string; schemaVersion: number; data: Record<string, unknown> }, { count: number }>({
      streamId,
      initial: { version: 0, count: 0 },
      evolve: (s) => ({ version: s.version + 1, count: s.count + 1 }),
      commitId,
      actor: null,
      now: '2026-12-02T10:00:00.000Z',
      decide: (s) => ({ events: [{ type: 'counter.incremented', schemaVersion: 1, data: {} }], result: { count: s.count + 1 } }),
    });

  it('applies a command delivered twice concurrently once, and answers both with the first result', async () => {
    for (let round = 0; round < 10; round++) {
      const stream = `counter-${round}`;
      await increment(stream, `${stream}-warm`);
      // A second repository over its own store: two processes with cold caches, racing.
      const other = new MongoEventStore(connection);
      const otherRepository = new AggregateRepository(other, new CommitPipeline(other, {} as ReadModelStore, []));
      const [a, b] = await Promise.all([increment(stream, `${stream}-twice`), otherRepository.execute({
        streamId: stream,
        initial: { version: 0, count: 0 },
        evolve: (s: Counter) => ({ version: s.version + 1, count: s.count + 1 }),
        commitId: `${stream}-twice`,
        actor: null,
        now: '2026-12-02T10:00:00.000Z',
        decide: (s: Counter) => ({ events: [{ type: 'counter.incremented', schemaVersion: 1, data: {} }], result: { count: s.count + 1 } }),
      })]);
      expect([a.ok, b.ok]).toEqual([true, true]);
      if (!a.ok || !b.ok) return;
      expect([a.duplicate, b.duplicate].sort()).toEqual([false, true]);
      expect(a.result).toEqual({ count: 2 });
      expect(b.result).toEqual({ count: 2 });
      expect((await store.readStream(stream)).map((e) => e.commitId)).toEqual([`${stream}-warm`, `${stream}-twice`]);
    }
  });
});
