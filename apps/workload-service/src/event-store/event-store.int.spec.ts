import { requireMongo, uniqueName, waitFor } from '@wcp/testing';
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

describe('MongoDB event store: position claims and the outbox marks', () => {
  const BLOCK = 10_000;
  const old = () => Date.now() - 10 * 60_000;
  const commitDoc = (key: string, commitId: string, position: number) => {
    const [streamId, version] = key.split('|');
    const events = [{ type: 'test.happened', schemaVersion: 1, data: {}, eventId: `${commitId}#0`, streamId, version: Number(version), position, occurredAt: '2026-11-28T10:00:00.000Z', actorId: null, commitId }];
    return { _id: key, commitId, streamId, version: Number(version), lastVersion: Number(version), position, events: JSON.stringify(events), result: 'null' };
  };
  async function fresh() {
    connection ??= await mongoose.createConnection(requireMongo(), { dbName: uniqueName('es') }).asPromise();
    const db = connection.useDb(uniqueName('es-claims'));
    const store = new MongoEventStore(db);
    await store.init();
    const commits = db.db!.collection<Record<string, unknown> & { _id: string }>('commits');
    const blocks = db.db!.collection<Record<string, unknown> & { _id: number }>('position_blocks');
    return { db, store, commits, blocks };
  }

  it('publishes a dead writer\'s commits from their claims, passes its void claims, and closes its block where it died', async () => {
    const { store, commits, blocks } = await fresh();
    const first = 41 * BLOCK + 1;
    await blocks.insertOne({ _id: 42, at: old(), owner: 'dead', published: first - 1, alive: old(), assigned: first + 1 } as never);
    // Its first append landed; its second collided (the claim stands, the key holds another writer's commit).
    await commits.insertMany([
      { _id: `#${first}`, key: 'dead-a|1', commitId: 'dead-a-1', at: old() },
      commitDoc('dead-a|1', 'dead-a-1', first),
      { _id: `#${first + 1}`, key: 'dead-a|1', commitId: 'dead-a-lost', at: old() },
    ] as never);
    expect((await store.pending('published', 100)).map((c) => c.commitId)).toEqual(['dead-a-1']);
    // Found dead at its frontier: the block is closed there.
    expect(await blocks.findOne({ _id: 42 })).toMatchObject({ last: first + 1 });
    const pending = await store.pending('published', 100);
    await store.markDone('published', pending);
    await waitFor(async () => (await blocks.findOne({ _id: 42 }))?.published === first + 1, 'the mark written');
    // Another instance reads the mark: nothing left to publish there.
    const other = new MongoEventStore(store['connection']);
    expect(await other.pending('published', 100)).toEqual([]);
    expect(await other.unpublished(100)).toBe(0);
  });

  it('stops at a claim whose append is still in flight, and at a live writer\'s frontier', async () => {
    const { store, commits, blocks } = await fresh();
    const first = 6 * BLOCK + 1;
    await blocks.insertOne({ _id: 7, at: Date.now(), owner: 'live', published: first - 1, alive: Date.now(), assigned: first + 2 } as never);
    await commits.insertMany([
      { _id: `#${first}`, key: 'live-a|1', commitId: 'live-a-1', at: Date.now() },
      commitDoc('live-a|1', 'live-a-1', first),
      { _id: `#${first + 1}`, key: 'live-b|1', commitId: 'live-b-1', at: Date.now() },
      { _id: `#${first + 3}`, key: 'live-c|1', commitId: 'live-c-1', at: Date.now() },
      commitDoc('live-c|1', 'live-c-1', first + 3),
    ] as never);
    expect((await store.pending('published', 100)).map((c) => c.commitId)).toEqual(['live-a-1']);
    // Settled commits only, for the sweep: these are all younger than a minute.
    expect(await store.pending('published', 100, 0, 60_000)).toEqual([]);
    expect((await blocks.findOne({ _id: 7 }))?.last).toBeUndefined();
  });

  it('writes one claim per commit, so its own appends are found by position; a closed store leaves its block\'s extent', async () => {
    const { store, commits, blocks, db } = await fresh();
    // Racing appends of one stream: both pass the version check, the second collides at the write.
    const outcomes = await Promise.all([store.append(request('own-a', 0, 'own-a-1')), store.append(request('own-a', 0, 'own-a-2'))]);
    expect(outcomes.map((o) => o.status).sort()).toEqual(['appended', 'conflict']);
    const a = outcomes.find((o) => o.status === 'appended');
    if (a?.status !== 'appended') throw new Error('not appended');
    expect(await commits.findOne({ _id: `#${a.commit.position}` })).toMatchObject({ key: 'own-a|1', commitId: a.commit.commitId });
    // The collided one's claim is void and known so at once: publishing the first moves the mark over both.
    await store.markDone('published', [a.commit]);
    const block = Math.ceil(a.commit.position / BLOCK);
    await waitFor(async () => (await blocks.findOne({ _id: block }))?.published === a.commit.position + 1, 'the mark written');
    await store.close();
    expect(await blocks.findOne({ _id: block })).toMatchObject({ last: a.commit.position + 1 });
    const next = new MongoEventStore(db);
    await next.init();
    const c = await next.append(request('own-b', 0, 'own-b-1'));
    if (c.status !== 'appended') throw new Error('not appended');
    expect(Math.ceil(c.commit.position / BLOCK)).toBe(block + 1);
    expect((await next.pending('published', 100)).map((x) => x.commitId)).toEqual(['own-b-1']);
    await next.close();
  });

  it('still publishes what an older store left in its markers', async () => {
    const { db, commits, blocks } = await fresh();
    await blocks.insertOne({ _id: 1, at: old() } as never);
    await commits.insertMany([commitDoc('legacy-a|1', 'legacy-a-1', 5), commitDoc('legacy-b|1', 'legacy-b-1', 6)] as never);
    const markers = db.db!.collection<{ _id: number; key: string; commitId: string; at: number }>('pending_published');
    await markers.insertOne({ _id: 6, key: 'legacy-b|1', commitId: 'legacy-b-1', at: old() });
    const store = new MongoEventStore(db);
    await store.init();
    const pending = await store.pending('published', 100);
    expect(pending.map((c) => c.commitId)).toEqual(['legacy-b-1']);
    expect((await store.unpublishedBefore('legacy-b', 2)).map((c) => c.commitId)).toEqual(['legacy-b-1']);
    expect(await store.unpublishedBefore('legacy-a', 2)).toEqual([]);
    await store.markDone('published', pending);
    expect(await markers.countDocuments({})).toBe(0);
    expect(await store.pending('published', 100)).toEqual([]);
  });
});
