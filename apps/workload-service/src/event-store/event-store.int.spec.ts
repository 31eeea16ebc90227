import { requireMongo, uniqueName } from '@wcp/testing';
import mongoose, { Connection } from 'mongoose';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AppendRequest, EventStore } from './event-store';
import { MongoEventStore } from './mongo.event-store';
import { SqliteEventStore } from './sqlite.event-store';

const request = (streamId: string, expectedVersion: number, commitId: string, n = 1): AppendRequest => ({
  streamId,
  expectedVersion,
  commitId,
  actorId: null,
  occurredAt: '2026-11-28T10:00:00.000Z',
  events: Array.from({ length: n }, (_, i) => ({ type: 'test.happened', schemaVersion: 1, data: { i } })),
  result: { commitId },
});

let connection: Connection | null = null;
const sqliteFile = join(mkdtempSync(join(tmpdir(), 'wcp-es-')), 'events.sqlite');

const stores: Array<[string, () => Promise<EventStore>]> = [
  ['SQLite (embedded)', async () => new SqliteEventStore(sqliteFile)],
  [
    'MongoDB wire (FerretDB)',
    async () => {
      connection ??= await mongoose.createConnection(requireMongo(), { dbName: uniqueName('es') }).asPromise();
      const store = new MongoEventStore(connection);
      await store.init();
      return store;
    },
  ],
];

afterAll(async () => {
  await connection?.close();
});

describe.each(stores)('event store on %s', (_name, open) => {
  let store: EventStore;

  beforeAll(async () => {
    store = await open();
  });

  it('appends with the expected version and reads the stream back in order', async () => {
    expect((await store.append(request('s-order', 0, 'c1', 2))).status).toBe('appended');
    expect((await store.append(request('s-order', 2, 'c2', 1))).status).toBe('appended');
    const events = await store.readStream('s-order');
    expect(events.map((e) => [e.version, e.commitId, e.data.i])).toEqual([
      [1, 'c1', 0],
      [2, 'c1', 1],
      [3, 'c2', 0],
    ]);
    expect(await store.streamVersion('s-order')).toBe(3);
  });

  it('refuses a stale expected version, and one ahead of the stream', async () => {
    await store.append(request('s-stale', 0, 'stale-1'));
    expect(await store.append(request('s-stale', 0, 'stale-2'))).toEqual({ status: 'conflict', actualVersion: 1 });
    expect(await store.append(request('s-stale', 5, 'stale-3'))).toEqual({ status: 'conflict', actualVersion: 1 });
  });

  it('lets exactly one of two racing writers win; the other gets a conflict', async () => {
    for (let round = 0; round < 10; round++) {
      const stream = `s-race-${round}`;
      const outcomes = await Promise.all([store.append(request(stream, 0, `${stream}-a`)), store.append(request(stream, 0, `${stream}-b`))]);
      expect(outcomes.map((o) => o.status).sort()).toEqual(['appended', 'conflict']);
      expect(await store.readStream(stream)).toHaveLength(1);
    }
  });

  it('is idempotent by commit id: a repeated append returns the first commit', async () => {
    const first = await store.append(request('s-dup', 0, 'dup-1'));
    const again = await store.append(request('s-dup', 1, 'dup-1'));
    expect(first.status).toBe('appended');
    expect(again.status).toBe('duplicate');
    if (again.status === 'duplicate' && first.status === 'appended') expect(again.commit.position).toBe(first.commit.position);
    expect(await store.readStream('s-dup')).toHaveLength(1);
  });

  it('orders commits globally and tracks projection / publication stages', async () => {
    const all = [];
    for await (const c of store.replay()) all.push(c);
    const positions = all.map((c) => c.position);
    expect(positions).toEqual([...positions].sort((a, b) => a - b));
    const pending = await store.pending('published', 10_000);
    expect(pending.map((c) => c.commitId)).toEqual(all.map((c) => c.commitId));
    await store.markDone('published', pending.slice(0, 2));
    expect((await store.pending('published', 10_000)).map((c) => c.commitId)).toEqual(all.slice(2).map((c) => c.commitId));
    // SQLite tracks projection per commit; the MongoDB store re-projects what is unpublished (idempotent).
    const unprojected = (await store.pending('projected', 10_000)).map((c) => c.commitId);
    if (store instanceof SqliteEventStore) expect(unprojected).toEqual(all.map((c) => c.commitId));
    else expect(unprojected).toEqual(all.slice(2).map((c) => c.commitId));
  });

  it('group-commits concurrent appends: each collision fails alone, positions are unique and replay in order with nothing skipped', async () => {
    const streams = Array.from({ length: 40 }, (_, i) => `s-group-${i}`);
    const first = await Promise.all(streams.map((s) => store.append(request(s, 0, `${s}-a`))));
    expect(first.map((o) => o.status)).toEqual(streams.map(() => 'appended'));
    // Every stream once more, half of them from a stale view (expected version 0): those collide, the rest land.
    const second = await Promise.all(streams.map((s, i) => store.append(request(s, i % 2 === 0 ? 1 : 0, `${s}-b`))));
    expect(second.map((o) => o.status)).toEqual(streams.map((_, i) => (i % 2 === 0 ? 'appended' : 'conflict')));
    for (const [i, s] of streams.entries()) expect((await store.readStream(s)).map((e) => e.commitId)).toEqual(i % 2 === 0 ? [`${s}-a`, `${s}-b`] : [`${s}-a`]);
    const replayed = [];
    for await (const c of store.replay()) replayed.push(c);
    const positions = replayed.map((c) => c.position);
    expect(new Set(positions).size).toBe(positions.length);
    expect(positions).toEqual([...positions].sort((a, b) => a - b));
    // The outbox sees every commit of the group, in position order, and nothing that was not committed.
    const pending = await store.pending('published', 10_000);
    expect(pending.map((c) => c.position)).toEqual([...pending.map((c) => c.position)].sort((a, b) => a - b));
    const committed = new Set(replayed.map((c) => c.commitId));
    expect(pending.every((c) => committed.has(c.commitId))).toBe(true);
    const grouped = replayed.filter((c) => c.commitId.startsWith('s-group')).map((c) => c.commitId);
    expect(pending.filter((c) => c.commitId.startsWith('s-group')).map((c) => c.commitId)).toEqual(grouped);
    expect(grouped).toHaveLength(60);
  });

  it('reads a stream appended by another instance (no stale cache)', async () => {
    const other = await open();
    await store.append(request('s-shared', 0, 'shared-1'));
    expect(await other.readStream('s-shared')).toHaveLength(1);
    await other.append(request('s-shared', 1, 'shared-2'));
    expect((await store.readStream('s-shared')).map((e) => e.commitId)).toEqual(['shared-1', 'shared-2']);
    expect((await store.append(request('s-shared', 1, 'shared-3'))).status).toBe('conflict');
  });
});

describe('MongoDB event store after a crash mid-append', () => {
  it('skips the marker of an append that is still in flight, and drops it once abandoned', async () => {
    connection ??= await mongoose.createConnection(requireMongo(), { dbName: uniqueName('es') }).asPromise();
    const db = connection.useDb(uniqueName('es-crash'));
    const store = new MongoEventStore(db);
    await store.init();
    await store.append(request('s-after', 0, 'after-1'));
    // A marker whose commit never got written: the writer died between the two.
    const markers = db.db!.collection<{ _id: number; key: string; commitId: string; at: number }>('pending_published');
    await markers.insertOne({ _id: 1_000_001, key: 'ghost|1', commitId: 'ghost-young', at: Date.now() });
    await markers.insertOne({ _id: 1_000_002, key: 'ghost|1', commitId: 'ghost-old', at: Date.now() - 10 * 60_000 });
    expect((await store.pending('published', 100)).map((c) => c.commitId)).toEqual(['after-1']);
    expect(await markers.countDocuments({ _id: 1_000_002 })).toBe(0);
    expect(await markers.countDocuments({ _id: 1_000_001 })).toBe(1);
  });
});
