import { requireMongo, waitFor } from '@wcp/testing';
import { partitionOf } from '@wcp/messaging';
import mongoose, { Connection } from 'mongoose';
import { MongoReadModelStore } from '../read-models/mongo.read-model-store';
import { PlacementDirectory, PLACEMENTS } from './placement.directory';
import { RuntimePlacement } from './runtime-placement';

/** Three instances' claims in a real MongoDB-wire store: who runs a workload, seen from each; stale claims pruned. */
describe('PlacementDirectory (FerretDB)', () => {
  let connection: Connection;
  let store: MongoReadModelStore;
  let clock = 1_000;

  beforeAll(async () => {
    connection = await mongoose.createConnection(requireMongo(), { dbName: `placement-${Date.now()}` }).asPromise();
    store = new MongoReadModelStore(connection);
  });

  afterAll(async () => {
    await connection?.dropDatabase().catch(() => undefined);
    await connection?.close();
  });

  const instance = (id: string) => {
    const placement = new RuntimePlacement();
    return { placement, directory: new PlacementDirectory(store, placement, id, () => clock) };
  };

  it('answers with the owner\'s URL, null for its own workloads, and forgets a dead instance once its partitions are claimed again', async () => {
    const a = instance('a');
    const b = instance('b');
    const workload = 'w-0001';
    const p = partitionOf(workload, 6);
    const others = [0, 1, 2, 3, 4, 5].filter((x) => x !== p);
    a.placement.assign({ partitions: others, partitionCount: 6 });
    b.placement.assign({ partitions: [p], partitionCount: 6 });
    await a.directory.start('http://a:8081');
    await b.directory.start('http://b:8081');

    expect(await b.directory.ownerUrl(workload)).toBeNull();
    clock += 2_000; // past the claims cache
    expect(await a.directory.ownerUrl(workload)).toBe('http://b:8081');

    // b dies without withdrawing; a gets every partition and claims them: b's claim is pruned.
    clock += 1_000;
    a.placement.assign({ partitions: [0, 1, 2, 3, 4, 5], partitionCount: 6 });
    await waitFor(async () => (await store.find(PLACEMENTS, {})).map((d) => d._id).join() === 'a', 'b\'s claim pruned', 5_000, 20);
    clock += 2_000;
    expect(await a.directory.ownerUrl(workload)).toBeNull();
    const c = instance('c');
    c.placement.assign({ partitions: [], partitionCount: 6 });
    await c.directory.start('http://c:8081');
    clock += 2_000;
    expect(await c.directory.ownerUrl(workload)).toBe('http://a:8081');
    expect((await store.find(PLACEMENTS, {})).map((d) => d._id).sort()).toEqual(['a', 'c']);

    await a.directory.stop();
    expect((await store.find(PLACEMENTS, {})).map((d) => d._id)).toEqual(['c']);
  });
});
