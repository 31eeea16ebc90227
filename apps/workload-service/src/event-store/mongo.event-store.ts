import type { mongo } from 'mongoose';
import { Connection } from 'mongoose';
import { AppendOutcome, AppendRequest, Commit, CommitStage, EventStore, StoredEvent } from './event-store';
import { stamp } from './sqlite.event-store';

/** A commit: `_id` is `<streamId>|<first version>`, so a stream is read by primary key alone. */
interface CommitDoc {
  _id: string;
  commitId: string;
  streamId: string;
  version: number;
  lastVersion: number;
  position: number;
  /** JSON text: keeps payloads opaque to the server (FerretDB rejects nested arrays and dotted keys). */
  events: string;
  result: string;
}

/** `commit_ids`: a command's claim on a commit key, so duplicates are found by primary key. */
interface ClaimDoc {
  _id: string;
  key: string;
}

/** `pending_projected` / `pending_published`: commits a step still has to handle. */
interface PendingDoc {
  _id: string;
  key: string;
  position: number;
  /** Epoch ms the marker was written; an old marker without its commit is an abandoned append. */
  at: number;
}

/** A marker this old whose commit does not exist belongs to an append that died; it is dropped. */
const ABANDONED_AFTER_MS = 60_000;
const STREAM_CACHE_SIZE = 10_000;

const keyOf = (streamId: string, version: number) => `${streamId}|${version}`;

/**
 * Distributed-mode event store on MongoDB or FerretDB, without multi-document transactions and
 * with every hot-path access by primary key (FerretDB on SQLite only pushes `_id` equality
 * down; anything else scans the collection).
 *
 * - Optimistic concurrency: a commit's `_id` is `<stream>|<first version>`; two writers that
 *   decided on the same version collide on the primary key, and a stale writer collides with
 *   the commit that moved the stream on.
 * - Idempotency: the command id is claimed in `commit_ids` before the commit is written; a
 *   redelivery finds the claim and, through it, the commit.
 * - After-append steps: markers in `pending_*` are written before the commit and deleted when
 *   done, so a crash between the append and its projection or publication leaves a marker for
 *   the next start. A marker whose commit never appeared is an abandoned append (dropped after
 *   a minute; skipped until then).
 * - Streams are cached per process: a read checks the next key only, so reading a hot stream
 *   costs one lookup. Commands are partitioned by aggregate, so one process writes a stream.
 */
export class MongoEventStore implements EventStore {
  private readonly streams = new Map<string, StoredEvent[]>();

  constructor(private readonly connection: Connection) {}

  private get db() {
    return this.connection.db!;
  }

  private get commits() {
    return this.db.collection<CommitDoc>('commits');
  }

  private get claims() {
    return this.db.collection<ClaimDoc>('commit_ids');
  }

  private pendingOf(stage: CommitStage) {
    return this.db.collection<PendingDoc>(`pending_${stage}`);
  }

  async init(): Promise<void> {
    // Used by replays and marker scans on a real MongoDB; FerretDB accepts and ignores them for queries.
    await this.commits.createIndex({ position: 1 });
    await this.pendingOf('projected').createIndex({ position: 1 });
    await this.pendingOf('published').createIndex({ position: 1 });
  }

  async append(request: AppendRequest): Promise<AppendOutcome> {
    const previous = await this.findCommit(request.commitId);
    if (previous) return { status: 'duplicate', commit: previous };
    const actual = (await this.readStream(request.streamId)).length;
    if (actual !== request.expectedVersion) return { status: 'conflict', actualVersion: actual };
    const key = keyOf(request.streamId, actual + 1);
    const counter = await this.db
      .collection<{ _id: string; seq: number }>('counters')
      .findOneAndUpdate({ _id: 'commits' }, { $inc: { seq: 1 } }, { upsert: true, returnDocument: 'after' });
    const position = counter!.seq;
    const events = stamp(request, actual, position);
    const at = Date.now();
    await upsertById(this.claims, { _id: request.commitId, key });
    for (const stage of ['projected', 'published'] as const) await upsertById(this.pendingOf(stage), { _id: request.commitId, key, position, at });
    try {
      await this.commits.insertOne({
        _id: key,
        commitId: request.commitId,
        streamId: request.streamId,
        version: actual + 1,
        lastVersion: actual + events.length,
        position,
        events: JSON.stringify(events),
        result: JSON.stringify(request.result ?? null),
      });
    } catch (error) {
      if ((error as { code?: number }).code !== 11000) throw error;
      this.streams.delete(request.streamId);
      // Lost the race: withdraw the claim and markers at once, or they would hold up the relay.
      await this.claims.deleteOne({ _id: request.commitId });
      for (const stage of ['projected', 'published'] as const) await this.pendingOf(stage).deleteOne({ _id: request.commitId });
      return { status: 'conflict', actualVersion: (await this.readStream(request.streamId)).length };
    }
    // Extend the cache only if it still ends where this append began: a concurrent reader may have
    // cached this commit already, or a losing writer dropped the entry; either way, start afresh.
    const cached = this.streams.get(request.streamId);
    if (cached && cached.length === actual) this.streams.set(request.streamId, [...cached, ...events]);
    else this.streams.delete(request.streamId);
    return { status: 'appended', commit: { commitId: request.commitId, streamId: request.streamId, position, events, result: request.result ?? null } };
  }

  async readStream(streamId: string): Promise<StoredEvent[]> {
    let events = this.streams.get(streamId) ?? [];
    for (;;) {
      const doc = await this.commits.findOne({ _id: keyOf(streamId, events.length + 1) });
      if (!doc) break;
      events = [...events, ...(JSON.parse(doc.events) as StoredEvent[])];
    }
    if (this.streams.size >= STREAM_CACHE_SIZE && !this.streams.has(streamId)) this.streams.delete(this.streams.keys().next().value!);
    this.streams.set(streamId, events);
    return events;
  }

  async streamVersion(streamId: string): Promise<number> {
    return (await this.readStream(streamId)).length;
  }

  async findCommit(commitId: string): Promise<Commit | null> {
    const claim = await this.claims.findOne({ _id: commitId });
    if (!claim) return null;
    const doc = await this.commits.findOne({ _id: claim.key });
    return doc && doc.commitId === commitId ? toCommit(doc) : null;
  }

  async *replay(): AsyncIterable<Commit> {
    for await (const doc of this.commits.find({}).sort({ position: 1 })) yield toCommit(doc);
  }

  async pending(stage: CommitStage, limit: number): Promise<Commit[]> {
    const markers = await this.pendingOf(stage).find({}).sort({ position: 1 }).limit(limit).toArray();
    const commits: Commit[] = [];
    for (const marker of markers) {
      const doc = await this.commits.findOne({ _id: marker.key });
      if (doc && doc.commitId === marker._id) {
        commits.push(toCommit(doc));
      } else if (Date.now() - marker.at > ABANDONED_AFTER_MS) {
        await this.pendingOf(stage).deleteOne({ _id: marker._id });
      }
      // Otherwise an append is still in flight. Skipping it keeps per-stream order: a stream
      // has at most one append in flight, so nothing later of that stream exists yet.
    }
    return commits;
  }

  async markDone(stage: CommitStage, commitIds: string[]): Promise<void> {
    for (const id of commitIds) await this.pendingOf(stage).deleteOne({ _id: id });
  }

  async ping(): Promise<boolean> {
    return pingMongo(this.connection);
  }

  async close(): Promise<void> {
    // The connection belongs to the module that opened it.
  }
}

function toCommit(doc: CommitDoc): Commit {
  return { commitId: doc.commitId, streamId: doc.streamId, position: doc.position, events: JSON.parse(doc.events), result: JSON.parse(doc.result ?? 'null') };
}

/**
 * Insert, or replace when the id exists. Cheaper than an upserting replace on FerretDB, whose
 * upsert scans the collection when it ends up inserting.
 */
export async function upsertById<T extends { _id: string }>(collection: mongo.Collection<T>, doc: T): Promise<void> {
  try {
    await collection.insertOne(doc as mongo.OptionalUnlessRequiredId<T>);
  } catch (error) {
    if ((error as { code?: number }).code !== 11000) throw error;
    await collection.replaceOne({ _id: doc._id } as mongo.Filter<T>, doc as mongo.WithoutId<T>);
  }
}

export async function pingMongo(connection: Connection): Promise<boolean> {
  try {
    await connection.db!.admin().ping();
    return true;
  } catch {
    return false;
  }
}
