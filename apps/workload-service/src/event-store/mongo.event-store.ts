import { performance } from 'node:perf_hooks';
import { appendBatch, appendDuration } from '../messaging/service.metrics';
import { tracedAppend } from './event-store.tracing';
import type { mongo } from 'mongoose';
import { GroupCommit } from '@wcp/messaging';
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

/**
 * `pending_published`: a commit the outbox has not published yet. `_id` is the commit's
 * position (reserved once, never reused), so a writer that loses a race withdraws exactly its
 * own marker, never the winner's.
 */
interface PendingDoc {
  _id: number;
  key: string;
  commitId: string;
  /** Epoch ms the marker was written; an old marker without its commit is an abandoned append. */
  at: number;
}

/** The commits of one stream this process has seen, whole and in order. */
interface CachedStream {
  events: StoredEvent[];
  commits: Commit[];
}

/** A marker this old whose commit does not exist belongs to an append that died; it is dropped. */
const ABANDONED_AFTER_MS = 60_000;
const STREAM_CACHE_SIZE = 10_000;
/** Appends written in one round trip at most (documents well under the 16 MiB batch limit). */
const MAX_GROUP = 500;
/** Positions per claimed block (≥ MAX_GROUP, so a group always fits a fresh block). */
const POSITION_BLOCK = 10_000;

const keyOf = (streamId: string, version: number) => `${streamId}|${version}`;

/**
 * Distributed-mode event store on MongoDB or FerretDB, without multi-document transactions and
 * with every hot-path access by primary key (FerretDB on SQLite only pushes `_id` equality
 * down; anything else scans the collection).
 *
 * - **Group commit.** Appends issued concurrently (the command consumer runs many aggregates at
 *   once) are queued and written together: their global positions come from a block this
 *   process reserved (`reserve`), one `insertMany` writes their outbox markers, one unordered
 *   `insertMany` their commits. A commit that collides fails alone; the others stand.
 * - **Optimistic concurrency.** A commit's `_id` is `<stream>|<first version>`. Commits of a
 *   stream are contiguous, so a writer whose view is stale by any number of commits collides
 *   with the commit that starts right after its view: no read is needed to append.
 * - **Idempotency.** A commit id is unique within its stream; a redelivered command finds its
 *   commit in the stream it reads to decide (`findCommit(commitId, streamId)`), and two
 *   deliveries racing collide on the key, the loser then finding the winner's commit.
 * - **After-append steps.** The outbox marker is written before the commit, so a crash between
 *   the two leaves a marker (dropped once abandoned), never a commit nobody publishes. Commits
 *   are projected in-process right after the append; the ones a crash left unprojected are
 *   among the unpublished ones, which `pending('projected')` returns for the boot catch-up
 *   (projections are idempotent per stream version).
 * - Streams are cached per process: a read checks the next key only, so reading a hot stream
 *   costs one lookup. Commands are partitioned by aggregate, so one process writes a stream.
 */
export class MongoEventStore implements EventStore {
  private readonly streams = new Map<string, CachedStream>();
  private block: { number: number; next: number; end: number } | null = null;

  constructor(private readonly connection: Connection) {}

  private get db() {
    return this.connection.db!;
  }

  private get commits() {
    return this.db.collection<CommitDoc>('commits');
  }

  private get markers() {
    return this.db.collection<PendingDoc>('pending_published');
  }

  async init(): Promise<void> {
    // Used by replays on a real MongoDB; FerretDB accepts and ignores it for queries.
    await this.commits.createIndex({ position: 1 });
  }

  append(request: AppendRequest): Promise<AppendOutcome> {
    return tracedAppend('mongodb', request, async () => {
      const started = performance.now();
      const outcome = await this.appendNow(request);
      appendDuration.observe({ outcome: outcome.status }, (performance.now() - started) / 1000);
      return outcome;
    });
  }

  private async appendNow(request: AppendRequest): Promise<AppendOutcome> {
    // The repository has just read the stream to decide, so this is a cache hit on the hot path.
    let stream = this.streams.get(request.streamId) ?? (await this.load(request.streamId));
    if (stream.events.length !== request.expectedVersion) stream = await this.load(request.streamId);
    const previous = stream.commits.find((c) => c.commitId === request.commitId);
    if (previous) return { status: 'duplicate', commit: previous };
    // A view ahead of the stream cannot be right; one behind it collides on the key below.
    if (stream.events.length !== request.expectedVersion) return { status: 'conflict', actualVersion: stream.events.length };
    return this.appends.submit(request);
  }

  /** Appends queued meanwhile form the next group; one append per stream in a group (see `onePerStream`). */
  private readonly appends = new GroupCommit<AppendRequest, AppendOutcome>((requests) => this.write(requests), onePerStream);

  /**
   * The first of `n` consecutive global positions, from a block this process owns. Blocks are
   * claimed by inserting their number (a unique `_id`: the one write every MongoDB-wire server
   * makes atomic; FerretDB's `findAndModify` is not atomic across connections). Positions are
   * unique and increase within a process; a restart leaves the rest of its block unused.
   */
  private async reserve(n: number): Promise<number> {
    if (!this.block || this.block.next + n - 1 > this.block.end) {
      const blocks = this.db.collection<{ _id: number; at: number }>('position_blocks');
      let candidate = this.block ? this.block.number + 1 : ((await blocks.find({}).sort({ _id: -1 }).limit(1).toArray())[0]?._id ?? 0) + 1;
      for (;;) {
        try {
          await blocks.insertOne({ _id: candidate, at: Date.now() });
          break;
        } catch (error) {
          if ((error as { code?: number }).code !== 11000) throw error;
          candidate = ((await blocks.find({}).sort({ _id: -1 }).limit(1).toArray())[0]?._id ?? candidate) + 1;
        }
      }
      this.block = { number: candidate, next: (candidate - 1) * POSITION_BLOCK + 1, end: candidate * POSITION_BLOCK };
    }
    const first = this.block.next;
    this.block.next += n;
    return first;
  }

  private async write(requests: AppendRequest[]): Promise<AppendOutcome[]> {
    appendBatch.observe(requests.length);
    const first = await this.reserve(requests.length);
    const at = Date.now();
    const commits: Commit[] = requests.map((r, i) => {
      const position = first + i;
      return { commitId: r.commitId, streamId: r.streamId, position, events: stamp(r, r.expectedVersion, position), result: r.result ?? null };
    });
    await this.markers.insertMany(
      commits.map((c, i) => ({ _id: c.position, key: keyOf(c.streamId, requests[i].expectedVersion + 1), commitId: c.commitId, at })),
      { ordered: false },
    );
    const docs: CommitDoc[] = commits.map((c, i) => ({
      _id: keyOf(c.streamId, requests[i].expectedVersion + 1),
      commitId: c.commitId,
      streamId: c.streamId,
      version: requests[i].expectedVersion + 1,
      lastVersion: requests[i].expectedVersion + c.events.length,
      position: c.position,
      events: JSON.stringify(c.events),
      result: JSON.stringify(c.result),
    }));
    const collided = await insertEach(this.commits, docs);
    if (collided.size > 0) await this.dropMarkers([...collided].map((i) => commits[i].position));
    const outcomes: AppendOutcome[] = [];
    for (const [i, commit] of commits.entries()) {
      if (collided.has(i)) {
        this.streams.delete(commit.streamId);
        outcomes.push({ status: 'conflict', actualVersion: (await this.readStream(commit.streamId)).length });
        continue;
      }
      // Extend the cache only if it still ends where this append began: a concurrent reader may
      // have cached this commit already, or a losing writer dropped the entry; else start afresh.
      const cached = this.streams.get(commit.streamId);
      if (cached && cached.events.length === requests[i].expectedVersion) {
        this.streams.set(commit.streamId, { events: [...cached.events, ...commit.events], commits: [...cached.commits, commit] });
      } else this.streams.delete(commit.streamId);
      outcomes.push({ status: 'appended', commit });
    }
    return outcomes;
  }

  async readStream(streamId: string, freshness: 'fresh' | 'cached' = 'fresh'): Promise<StoredEvent[]> {
    const cached = freshness === 'cached' ? this.streams.get(streamId) : undefined;
    return (cached ?? (await this.load(streamId))).events;
  }

  private async load(streamId: string): Promise<CachedStream> {
    let stream = this.streams.get(streamId) ?? { events: [], commits: [] };
    for (;;) {
      const doc = await this.commits.findOne({ _id: keyOf(streamId, stream.events.length + 1) });
      if (!doc) break;
      const commit = toCommit(doc);
      stream = { events: [...stream.events, ...commit.events], commits: [...stream.commits, commit] };
    }
    if (this.streams.size >= STREAM_CACHE_SIZE && !this.streams.has(streamId)) this.streams.delete(this.streams.keys().next().value!);
    this.streams.set(streamId, stream);
    return stream;
  }

  async streamVersion(streamId: string): Promise<number> {
    return (await this.readStream(streamId)).length;
  }

  /** From the cached stream when there is one (callers read the stream just before), else loaded. */
  async findCommit(commitId: string, streamId: string): Promise<Commit | null> {
    const stream = this.streams.get(streamId) ?? (await this.load(streamId));
    return stream.commits.find((c) => c.commitId === commitId) ?? null;
  }

  async *replay(): AsyncIterable<Commit> {
    for await (const doc of this.commits.find({}).sort({ position: 1 })) yield toCommit(doc);
  }

  /** Unpublished commits in position order; for `projected`, the same (a superset of the unprojected ones). */
  async pending(_stage: CommitStage, limit: number, afterPosition = 0, settledMs = 0): Promise<Commit[]> {
    const filter = settledMs > 0 ? { _id: { $gt: afterPosition }, at: { $lte: Date.now() - settledMs } } : { _id: { $gt: afterPosition } };
    const markers = await this.markers.find(filter).sort({ _id: 1 }).limit(limit).toArray();
    const commits: Commit[] = [];
    const abandoned: number[] = [];
    for (const marker of markers) {
      const doc = await this.commits.findOne({ _id: marker.key });
      if (doc && doc.commitId === marker.commitId && doc.position === marker._id) commits.push(toCommit(doc));
      else if (Date.now() - marker.at > ABANDONED_AFTER_MS) abandoned.push(marker._id);
      // Otherwise an append is still in flight. Skipping it keeps per-stream order: a stream
      // has at most one append in flight, so nothing later of that stream exists yet.
    }
    await this.dropMarkers(abandoned);
    return commits;
  }

  async unpublishedBefore(streamId: string, beforeVersion: number): Promise<Commit[]> {
    let stream = this.streams.get(streamId);
    if (!stream || stream.events.length < beforeVersion - 1) stream = await this.load(streamId);
    const earlier = stream.commits.filter((c) => c.events[0].version < beforeVersion);
    if (earlier.length === 0) return [];
    // Markers are few (only what is in flight), so this `$in` scans a small collection.
    const pending = new Set((await this.markers.find({ _id: { $in: earlier.map((c) => c.position) } }).toArray()).map((m) => m._id));
    return earlier.filter((c) => pending.has(c.position));
  }

  async markDone(stage: CommitStage, commits: Commit[]): Promise<void> {
    // Projection leaves no marker of its own (see the class docblock).
    if (stage === 'published') await this.dropMarkers(commits.map((c) => c.position));
  }

  /** One bulk write of `_id` deletes: FerretDB pushes `_id` equality down, not `$in`. */
  private async dropMarkers(positions: number[]): Promise<void> {
    if (positions.length > 0) await this.markers.bulkWrite(positions.map((_id) => ({ deleteOne: { filter: { _id } } })), { ordered: false });
  }

  async ping(): Promise<boolean> {
    return pingMongo(this.connection);
  }

  async close(): Promise<void> {
    // The connection belongs to the module that opened it.
  }
}

/**
 * One append per stream in a group: a second one of the same stream expects the first's
 * version, so it must see the first written (it waits for the next group).
 */
function onePerStream(queued: readonly AppendRequest[]): number[] {
  const streams = new Set<string>();
  const chosen: number[] = [];
  for (let i = 0; i < queued.length && chosen.length < MAX_GROUP; i++) {
    if (streams.has(queued[i].streamId)) continue;
    streams.add(queued[i].streamId);
    chosen.push(i);
  }
  return chosen;
}

/** Inserts every document it can (unordered); returns the indexes that hit an existing `_id`. */
async function insertEach(collection: mongo.Collection<CommitDoc>, docs: CommitDoc[]): Promise<Set<number>> {
  try {
    await collection.insertMany(docs, { ordered: false });
    return new Set();
  } catch (error) {
    const writeErrors = (error as { writeErrors?: Array<{ index: number; code: number }> | { index: number; code: number } }).writeErrors;
    const list = Array.isArray(writeErrors) ? writeErrors : writeErrors ? [writeErrors] : [];
    if (list.length === 0 || list.some((e) => e.code !== 11000)) throw error;
    return new Set(list.map((e) => e.index));
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
