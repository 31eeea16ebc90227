import { performance } from 'node:perf_hooks';
import { appendBatch, appendDuration } from '../messaging/service.metrics';
import { tracedAppend } from './event-store.tracing';
import type { mongo } from 'mongoose';
import { GroupCommit } from '@wcp/messaging';
import { Connection } from 'mongoose';
import { AppendOutcome, AppendRequest, Commit, CommitStage, EventStore, StoredEvent } from './event-store';
import { stamp } from './sqlite.event-store';
import { BlockDoc, blockOf, DEAD_AFTER_MS, endOf, PositionBlocks } from './position-blocks';

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
 * A position's claim, `_id` `#<position>`, written just before its commit in the same ordered
 * insert: the outbox finds a commit by its position through it (`_id` lookups only). A claim
 * whose key holds no commit of that position and id is void: the append collided, or died.
 */
interface PositionDoc {
  _id: string;
  key: string;
  commitId: string;
  at: number;
}

/**
 * `pending_published`, the outbox markers of stores written before position claims: one per
 * unpublished commit, `_id` its position. Still read until none is left.
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

const STREAM_CACHE_SIZE = 10_000;
/** Appends written in one round trip at most (documents well under the 16 MiB batch limit; ≤ POSITION_BLOCK). */
const MAX_GROUP = 500;

const keyOf = (streamId: string, version: number) => `${streamId}|${version}`;
const claimOf = (position: number) => `#${position}`;

/**
 * Distributed-mode event store on MongoDB or FerretDB, without multi-document transactions and
 * with every hot-path access by primary key (FerretDB on SQLite only pushes `_id` equality
 * down; anything else scans the collection).
 *
 * - **Group commit, one write.** Appends issued concurrently (the command consumer runs many
 *   aggregates at once) are queued and written together: their global positions come from a
 *   block this process claimed (`PositionBlocks`), and one ordered `insertMany` writes, for each,
 *   its position claim and then its commit. A commit that collides stops the insert there; the
 *   rest is sent again, so it fails alone and the others stand.
 * - **Optimistic concurrency.** A commit's `_id` is `<stream>|<first version>`. Commits of a
 *   stream are contiguous, so a writer whose view is stale by any number of commits collides
 *   with the commit that starts right after its view: no read is needed to append.
 * - **Idempotency.** A commit id is unique within its stream; a redelivered command finds its
 *   commit in the stream it reads to decide (`findCommit(commitId, streamId)`), and two
 *   deliveries racing collide on the key, the loser then finding the winner's commit.
 * - **After-append steps.** A commit's position claim lands before it, so every commit can be
 *   found from its position, and each block records how far its positions are published: the
 *   outbox (`pending`) walks each block from that mark by `_id` lookups, and the publisher
 *   moves the mark (`markDone`), one write per publish batch instead of a marker per commit.
 *   Commits are projected in-process right after the append; the ones a crash left
 *   unprojected are among the unpublished ones, which `pending('projected')` returns for the
 *   boot catch-up (projections are idempotent per stream version).
 * - Streams are cached per process: a read checks the next key only, so reading a hot stream
 *   costs one lookup. Commands are partitioned by aggregate, so one process writes a stream.
 */
export class MongoEventStore implements EventStore {
  private readonly streams = new Map<string, CachedStream>();
  private readonly blocks: PositionBlocks;
  /** Whether `pending_published` still holds markers of an older version of this store. */
  private legacy = false;

  constructor(private readonly connection: Connection, owner = `${process.pid}-${Math.random().toString(36).slice(2, 8)}`) {
    this.blocks = new PositionBlocks(() => this.db, owner);
  }

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
    this.legacy = (await this.markers.findOne({})) !== null;
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

  private async write(requests: AppendRequest[]): Promise<AppendOutcome[]> {
    appendBatch.observe(requests.length);
    const first = await this.blocks.reserve(requests.length);
    const at = Date.now();
    const commits: Commit[] = requests.map((r, i) => {
      const position = first + i;
      return { commitId: r.commitId, streamId: r.streamId, position, events: stamp(r, r.expectedVersion, position), result: r.result ?? null };
    });
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
    let collided: Set<number>;
    try {
      collided = await insertClaimed(this.commits, docs.flatMap((doc) => [{ _id: claimOf(doc.position), key: doc._id, commitId: doc.commitId, at }, doc]));
    } catch (error) {
      this.blocks.retire();
      throw error;
    }
    if (collided.size > 0) await this.blocks.settle([...collided].map((i) => commits[i].position));
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
    for await (const doc of this.commits.find({}).sort({ position: 1 })) if ('events' in doc) yield toCommit(doc);
  }

  /** Unpublished commits in position order; for `projected`, the same (a superset of the unprojected ones). */
  async pending(_stage: CommitStage, limit: number, afterPosition = 0, settledMs = 0): Promise<Commit[]> {
    const commits = this.legacy ? await this.legacyPending(limit, afterPosition, settledMs) : [];
    const now = Date.now();
    const voids: number[] = [];
    for (const block of await this.blocks.all()) {
      if (block.published === undefined || commits.length >= limit) continue;
      const known = this.blocks.known(block);
      const last = block.last ?? endOf(block._id);
      for (let p = Math.max(known.mark, afterPosition) + 1; p <= last && commits.length < limit; p++) {
        if (known.done.has(p)) continue;
        const claim = (await this.commits.findOne({ _id: claimOf(p) })) as PositionDoc | null;
        if (!claim) {
          // Not written (yet). A closed block's gap is a write that failed; a silent owner's frontier is where it died.
          if (block.last !== undefined && now - (block.closedAt ?? 0) > DEAD_AFTER_MS) {
            voids.push(p);
            continue;
          }
          if (block.last === undefined && block._id !== this.blocks.currentBlock && now - (block.alive ?? block.at) > DEAD_AFTER_MS) await this.blocks.closeAt(block._id, p - 1);
          break;
        }
        if (now - claim.at < settledMs) break;
        const doc = await this.commits.findOne({ _id: claim.key });
        if (doc && doc.position === p && doc.commitId === claim.commitId) commits.push(toCommit(doc));
        else if (now - claim.at > DEAD_AFTER_MS) voids.push(p);
        // Otherwise its append is still in flight, and so are the positions after it.
        else break;
      }
    }
    if (voids.length > 0) await this.blocks.settle(voids, true);
    return commits;
  }

  /** The markers of an older store, as that store read them. */
  private async legacyPending(limit: number, afterPosition: number, settledMs: number): Promise<Commit[]> {
    const filter = settledMs > 0 ? { _id: { $gt: afterPosition }, at: { $lte: Date.now() - settledMs } } : { _id: { $gt: afterPosition } };
    const markers = await this.markers.find(filter).sort({ _id: 1 }).limit(limit).toArray();
    if (markers.length === 0 && afterPosition === 0 && settledMs === 0) this.legacy = false;
    const commits: Commit[] = [];
    for (const marker of markers) {
      const doc = await this.commits.findOne({ _id: marker.key });
      if (doc && doc.commitId === marker.commitId && doc.position === marker._id) commits.push(toCommit(doc));
    }
    return commits;
  }

  async unpublishedBefore(streamId: string, beforeVersion: number): Promise<Commit[]> {
    let stream = this.streams.get(streamId);
    if (!stream || stream.events.length < beforeVersion - 1) stream = await this.load(streamId);
    const earlier = stream.commits.filter((c) => c.events[0].version < beforeVersion);
    const docs = new Map<number, BlockDoc | null>();
    const unpublished: Commit[] = [];
    for (const c of earlier) {
      if (await this.blocks.isPublished(c.position, docs)) continue;
      const block = docs.get(blockOf(c.position));
      // A block without a mark is an older store's: its unpublished commits have markers.
      if (block?.published === undefined) {
        if (block && this.legacy && (await this.markers.findOne({ _id: c.position }))) unpublished.push(c);
        continue;
      }
      unpublished.push(c);
    }
    return unpublished;
  }

  async markDone(stage: CommitStage, commits: Commit[]): Promise<void> {
    // Projection leaves no mark of its own (see the class docblock).
    if (stage !== 'published' || commits.length === 0) return;
    await this.blocks.settle(commits.map((c) => c.position));
    if (this.legacy) await this.markers.bulkWrite(commits.map((c) => ({ deleteOne: { filter: { _id: c.position } } })), { ordered: false });
  }

  /** Positions handed out and not yet known published, counted up to `limit` (from the blocks' marks). */
  async unpublished(limit: number): Promise<number> {
    return Math.min(limit, (await this.blocks.unsettled(limit)) + (this.legacy ? (await this.legacyPending(limit, 0, 0)).length : 0));
  }

  async ping(): Promise<boolean> {
    return pingMongo(this.connection);
  }

  /** Closes this process's position block (the sweep then knows its extent); the connection belongs to whoever opened it. */
  async close(): Promise<void> {
    await this.blocks.close();
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

/**
 * Inserts `[claim, commit]` pairs in order. A commit that meets an existing `_id` (its stream
 * moved on) stops an ordered insert; the pairs after it are sent again. Returns the indexes of
 * the pairs whose commit collided; their claims stand, void.
 */
async function insertClaimed(collection: mongo.Collection<CommitDoc>, docs: Array<CommitDoc | PositionDoc>): Promise<Set<number>> {
  const collided = new Set<number>();
  for (let from = 0; from < docs.length; ) {
    try {
      await collection.insertMany(docs.slice(from) as CommitDoc[], { ordered: true });
      break;
    } catch (error) {
      const raw = (error as { writeErrors?: Array<{ index: number; code: number }> | { index: number; code: number } }).writeErrors;
      const list = Array.isArray(raw) ? raw : raw ? [raw] : [];
      const at = from + (list[0]?.index ?? -1);
      // A claim meeting an existing `_id` would be a position handed out twice: not a collision.
      if (list.length !== 1 || list[0].code !== 11000 || at < from || (at - from) % 2 === 0) throw error;
      collided.add(Math.floor(at / 2));
      from = at + 1;
    }
  }
  return collided;
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
