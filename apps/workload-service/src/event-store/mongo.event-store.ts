import { Connection, Model, Schema } from 'mongoose';
import { AppendOutcome, AppendRequest, Commit, CommitStage, EventStore } from './event-store';
import { stamp } from './sqlite.event-store';

interface CommitDoc {
  _id: string;
  streamId: string;
  version: number;
  lastVersion: number;
  position: number;
  /** JSON text: keeps payloads opaque to the server (FerretDB rejects nested arrays and dotted keys). */
  events: string;
  result: string;
  projected: boolean;
  published: boolean;
}

const commitSchema = new Schema<CommitDoc>(
  {
    _id: String,
    streamId: { type: String, required: true },
    version: { type: Number, required: true },
    lastVersion: { type: Number, required: true },
    position: { type: Number, required: true },
    events: { type: String, required: true },
    result: { type: String, default: 'null' },
    projected: { type: Boolean, default: false },
    published: { type: Boolean, default: false },
  },
  { versionKey: false, autoIndex: false, collection: 'commits' },
);
// The unique (streamId, version) pair is the optimistic-concurrency guard: commits of a stream
// are contiguous, so any writer whose expected version is stale collides with an existing commit.
commitSchema.index({ streamId: 1, version: 1 }, { unique: true });
commitSchema.index({ position: 1 }, { unique: true });
commitSchema.index({ projected: 1, position: 1 });
commitSchema.index({ published: 1, position: 1 });

const counterSchema = new Schema<{ _id: string; seq: number }>({ _id: String, seq: Number }, { versionKey: false, collection: 'counters' });

/**
 * Distributed-mode event store on MongoDB (or FerretDB): no multi-document transactions. The
 * global position comes from a counter; a failed insert burns its position, so positions
 * can have gaps but never go backwards within a stream.
 */
export class MongoEventStore implements EventStore {
  private readonly commits: Model<CommitDoc>;
  private readonly counters: Model<{ _id: string; seq: number }, object, object, object>;

  constructor(private readonly connection: Connection) {
    this.commits = connection.model<CommitDoc>('Commit', commitSchema);
    this.counters = connection.model('Counter', counterSchema) as never;
  }

  async init(): Promise<void> {
    await this.commits.createCollection().catch(ignoreExists);
    await this.commits.syncIndexes();
  }

  async append(request: AppendRequest): Promise<AppendOutcome> {
    const existing = await this.findCommit(request.commitId);
    if (existing) return { status: 'duplicate', commit: existing };
    const actual = await this.streamVersion(request.streamId);
    if (actual !== request.expectedVersion) return { status: 'conflict', actualVersion: actual };
    const counter = await this.counters.findOneAndUpdate({ _id: 'commits' }, { $inc: { seq: 1 } }, { upsert: true, returnDocument: 'after' }).lean();
    const position = counter!.seq;
    const events = stamp(request, actual, position);
    try {
      await this.commits.collection.insertOne({
        _id: request.commitId,
        streamId: request.streamId,
        version: actual + 1,
        lastVersion: actual + events.length,
        position,
        events: JSON.stringify(events),
        result: JSON.stringify(request.result ?? null),
        projected: false,
        published: false,
      } as never);
    } catch (error) {
      if ((error as { code?: number }).code !== 11000) throw error;
      const duplicate = await this.findCommit(request.commitId);
      if (duplicate) return { status: 'duplicate', commit: duplicate };
      return { status: 'conflict', actualVersion: await this.streamVersion(request.streamId) };
    }
    return { status: 'appended', commit: { commitId: request.commitId, streamId: request.streamId, position, events, result: request.result ?? null } };
  }

  async readStream(streamId: string) {
    const docs = await this.commits.find({ streamId }).sort({ version: 1 }).lean();
    return docs.flatMap((d) => toCommit(d).events);
  }

  async streamVersion(streamId: string): Promise<number> {
    const last = await this.commits.findOne({ streamId }, { lastVersion: 1 }).sort({ version: -1 }).lean();
    return last?.lastVersion ?? 0;
  }

  async findCommit(commitId: string): Promise<Commit | null> {
    const doc = await this.commits.findById(commitId).lean();
    return doc ? toCommit(doc) : null;
  }

  async readAll(afterPosition: number, limit: number): Promise<Commit[]> {
    const docs = await this.commits.find({ position: { $gt: afterPosition } }).sort({ position: 1 }).limit(limit).lean();
    return docs.map(toCommit);
  }

  async pending(stage: CommitStage, limit: number): Promise<Commit[]> {
    const docs = await this.commits.find({ [stage]: false }).sort({ position: 1 }).limit(limit).lean();
    return docs.map(toCommit);
  }

  async markDone(stage: CommitStage, commitIds: string[]): Promise<void> {
    if (commitIds.length > 0) await this.commits.updateMany({ _id: { $in: commitIds } }, { $set: { [stage]: true } });
  }

  async resetStage(stage: CommitStage): Promise<void> {
    await this.commits.updateMany({}, { $set: { [stage]: false } });
  }

  async ping(): Promise<boolean> {
    return pingMongo(this.connection);
  }

  async close(): Promise<void> {
    // The connection belongs to the module that opened it.
  }
}

function toCommit(doc: CommitDoc): Commit {
  return { commitId: doc._id, streamId: doc.streamId, position: doc.position, events: JSON.parse(doc.events), result: JSON.parse(doc.result ?? 'null') };
}

function ignoreExists(error: { code?: number }) {
  if (error.code !== 48) throw error;
}

export async function pingMongo(connection: Connection): Promise<boolean> {
  try {
    await connection.db!.admin().ping();
    return true;
  } catch {
    return false;
  }
}
