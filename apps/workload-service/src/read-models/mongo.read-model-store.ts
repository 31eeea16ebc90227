import type { Connection } from 'mongoose';
import { pingMongo, upsertById } from '../event-store/mongo.event-store';
import type { Doc, Filter, FindOptions, ReadModelStore } from './read-model-store';

/** Distributed-mode read models: one MongoDB collection per read model, prefixed `rm_`. */
export class MongoReadModelStore implements ReadModelStore {
  constructor(private readonly connection: Connection) {}

  async get<T extends Doc>(collection: string, id: string): Promise<T | null> {
    return (await this.c(collection).findOne({ _id: id } as never)) as T | null;
  }

  async put(collection: string, doc: Doc): Promise<void> {
    await upsertById(this.c(collection) as never, doc);
  }

  async setWhere(collection: string, filter: Filter, fields: Record<string, unknown>): Promise<number> {
    const result = await this.c(collection).updateMany(this.f(filter) as never, { $set: fields });
    return result.matchedCount;
  }

  async delete(collection: string, id: string): Promise<void> {
    await this.c(collection).deleteOne({ _id: id } as never);
  }

  async find<T extends Doc>(collection: string, filter: Filter, options: FindOptions = {}): Promise<T[]> {
    let cursor = this.c(collection).find(this.f(filter) as never);
    if (options.sort?.length) cursor = cursor.sort(options.sort.map(([f, d]) => [f, d] as [string, 1 | -1]));
    if (options.skip) cursor = cursor.skip(options.skip);
    if (options.limit !== undefined) cursor = cursor.limit(options.limit);
    return (await cursor.toArray()) as unknown as T[];
  }

  async count(collection: string, filter: Filter): Promise<number> {
    return this.c(collection).countDocuments(this.f(filter) as never);
  }

  async drop(collection: string): Promise<void> {
    await this.c(collection).deleteMany({});
  }

  async ensureIndexes(collection: string, indexes: Array<Record<string, 1 | -1>>): Promise<void> {
    for (const keys of indexes) await this.c(collection).createIndex(keys);
  }

  async ping(): Promise<boolean> {
    return pingMongo(this.connection);
  }

  async close(): Promise<void> {
    // The connection belongs to the module that opened it.
  }

  /** MongoDB refuses an empty `$and`/`$or`; an empty conjunction means "everything". */
  private f(filter: Filter): Filter {
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(filter)) {
      if (key === '$and' || key === '$or') {
        const parts = (value as Filter[]).map((p) => this.f(p));
        if (parts.length === 0) {
          if (key === '$or') return { _id: { $in: [] } };
          continue;
        }
        out[key] = parts;
      } else {
        out[key] = value;
      }
    }
    return out as Filter;
  }

  private c(name: string) {
    return this.connection.db!.collection(`rm_${name}`);
  }
}
