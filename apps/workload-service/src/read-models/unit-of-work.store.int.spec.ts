import { requireMongo, uniqueName } from '@wcp/testing';
import mongoose, { Connection } from 'mongoose';
import { MongoReadModelStore } from './mongo.read-model-store';
import type { Doc } from './read-model-store';
import { UnitOfWorkStore } from './unit-of-work.store';

/**
 * The unit of work's reuse of its own last write, on a real MongoDB-wire server, with a second
 * store on the same database standing in for another instance: a projection starts from what
 * this process wrote at the version before (no read), writes only what it changed (so a field
 * another instance set meanwhile stays), and reads the store again when the version it asks for
 * is not the one it wrote.
 */
describe('unit-of-work store on FerretDB', () => {
  let connection: Connection;
  let store: UnitOfWorkStore;
  let other: MongoReadModelStore;
  const C = 'uow_docs';

  beforeAll(async () => {
    connection = await mongoose.createConnection(requireMongo(), { dbName: uniqueName('uow') }).asPromise();
    store = new UnitOfWorkStore(new MongoReadModelStore(connection));
    other = new MongoReadModelStore(connection);
  });

  afterAll(async () => {
    await connection?.close();
  });

  /**
   * What a projection does for stream version `v`: start from the document at v − 1, change one
   * field. `live`: the commit was just appended by this process (the pipeline's own appends).
   */
  const applyVersion = (id: string, v: number, description: string, live = true) =>
    store.batch(
      async () => {
        const doc = await store.get<Doc & { v: number }>(C, id, { ownWriteAt: v - 1 });
        if (!doc || v <= doc.v) return;
        await store.put(C, { ...doc, v, description });
      },
      { reuseOwnWrites: live },
    );

  it('keeps a field another instance set since this process last wrote the document', async () => {
    await store.batch(() => store.put(C, { _id: 'w1', v: 1, description: 'first', artifact: 'a1' }));
    await other.setWhere(C, { _id: 'w1' }, { artifact: 'a2' });
    await applyVersion('w1', 2, 'second');
    expect(await other.get(C, 'w1')).toEqual({ _id: 'w1', v: 2, description: 'second', artifact: 'a2' });
  });

  it('reads the store when the version asked for is not the one it wrote (another instance moved it on)', async () => {
    await store.batch(() => store.put(C, { _id: 'w2', v: 1, description: 'mine' }));
    await other.writeMany(C, [{ put: { _id: 'w2', v: 3, description: 'theirs at 3' }, exists: true }]);
    // Version 2 projected again later (a redelivery): not this process's fresh append, so read: at 3 already, nothing applied.
    await applyVersion('w2', 2, 'stale', false);
    expect(await other.get(C, 'w2')).toEqual({ _id: 'w2', v: 3, description: 'theirs at 3' });
    // A fresh append of version 4 asks for the document at 3, which this process did not write.
    await applyVersion('w2', 4, 'fourth');
    expect(await other.get(C, 'w2')).toEqual({ _id: 'w2', v: 4, description: 'fourth' });
  });

  it('drops what it wrote when a write outside a batch replaces the document', async () => {
    await store.batch(() => store.put(C, { _id: 'w3', v: 1, description: 'batch' }));
    await store.put(C, { _id: 'w3', v: 1, description: 'direct', extra: true });
    await applyVersion('w3', 2, 'next');
    expect(await other.get(C, 'w3')).toEqual({ _id: 'w3', v: 2, description: 'next', extra: true });
    expect(store.recentlyWritten(C, 'w3')).toEqual({ _id: 'w3', v: 2, description: 'next', extra: true });
  });

  it('applies many versions of many documents in concurrent batches, each from its previous write', async () => {
    const ids = Array.from({ length: 40 }, (_, i) => `load-${i}`);
    await store.batch(async () => {
      for (const id of ids) await store.put(C, { _id: id, v: 1, description: 'v1', runtime: { groups: [{ name: 'g', replicas: 1 }] } });
    });
    // Concurrent batches of different documents (the pipeline runs them one at a time; this is harsher).
    for (let v = 2; v <= 12; v++) await Promise.all(ids.map((id) => applyVersion(id, v, `v${v}`)));
    const docs = await other.find<Doc>(C, { _id: { $in: ids } });
    expect(docs).toHaveLength(ids.length);
    for (const doc of docs) expect(doc).toEqual({ _id: doc._id, v: 12, description: 'v12', runtime: { groups: [{ name: 'g', replicas: 1 }] } });
  });
});
