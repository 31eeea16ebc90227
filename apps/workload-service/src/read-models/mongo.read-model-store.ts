import type { Connection } from 'mongoose';
import { pingMongo, upsertById } from '../event-store/mongo.event-store';
import type { Doc, Filter, FindOptions, ReadModelStore, ReadModelWrite } from './read-model-store';
import { isDeepStrictEqual } from 'node:util';

/** Distributed-mode read models: one MongoDB collection per read model, prefixed `rm_`. */
export class MongoReadModelStore implements ReadModelStore {
  constructor(private readonly connection: Connection) {}

  async get<T extends Doc>(collection: string, id: string): Promise<T | null> {
    return (await this.c(collection).findOne({ _id: id } as never)) as T | null;
  }

  async put(collection: string, doc: Doc): Promise<void> {
    await upsertById(this.c(collection) as never, doc);
  }

  /**
   * One unordered bulk write: documents known to exist are updated (only the fields that differ
   * from the write's `base`) or replaced, others inserted; an insert that meets an existing `_id`
   * is replaced in a second round. (An upserting replace would do it in one, but FerretDB scans
   * the collection for every upsert that ends up inserting; filters are `_id` alone for the same
   * reason: `_id` and anything else scans.) Writes of one document are coalesced by the unit of
   * work, so order across ids is free.
   */
  async writeMany(collection: string, writes: ReadModelWrite[]): Promise<void> {
    const ops: unknown[] = [];
    /** Index in `writes` of each op (a document without changes has none). */
    const of: number[] = [];
    writes.forEach((w, i) => {
      let op: unknown;
      if ('delete' in w) op = { deleteOne: { filter: { _id: w.delete } } };
      else if (w.exists && w.base) {
        const update = changes(w.base, w.put);
        if (!update) return;
        op = { updateOne: { filter: { _id: w.put._id }, update } };
      } else if (w.exists) op = { replaceOne: { filter: { _id: w.put._id }, replacement: w.put } };
      else op = { insertOne: { document: w.put } };
      ops.push(op);
      of.push(i);
    });
    if (ops.length === 0) return;
    const c = this.c(collection);
    let retry: Doc[] = [];
    try {
      await c.bulkWrite(ops as never, { ordered: false });
    } catch (error) {
      const raw = (error as { writeErrors?: unknown }).writeErrors;
      const list = (Array.isArray(raw) ? raw : raw ? [raw] : []) as Array<{ index: number; code: number }>;
      if (list.length === 0 || list.some((e) => e.code !== 11000)) throw error;
      retry = list.map((e) => (writes[of[e.index]] as { put: Doc }).put);
    }
    if (retry.length > 0) await c.bulkWrite(retry.map((doc) => ({ replaceOne: { filter: { _id: doc._id }, replacement: doc } })) as never, { ordered: false });
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

/** `$set` of the top-level fields of `next` that differ from `base`, `$unset` of those it dropped; null when none. */
export function changes(base: Doc, next: Doc): { $set?: Record<string, unknown>; $unset?: Record<string, ''> } | null {
  const $set: Record<string, unknown> = {};
  const $unset: Record<string, ''> = {};
  for (const [key, value] of Object.entries(next)) {
    if (key === '_id') continue;
    if (value === undefined) {
      if (base[key] !== undefined) $unset[key] = '';
    } else if (!isDeepStrictEqual(base[key], value)) $set[key] = value;
  }
  for (const key of Object.keys(base)) if (key !== '_id' && !(key in next) && base[key] !== undefined) $unset[key] = '';
  const update = { ...(Object.keys($set).length ? { $set } : {}), ...(Object.keys($unset).length ? { $unset } : {}) };
  return Object.keys(update).length ? update : null;
}
