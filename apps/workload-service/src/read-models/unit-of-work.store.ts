import { AsyncLocalStorage } from 'node:async_hooks';
import type { Doc, Filter, FindOptions, ReadModelStore, ReadModelWrite } from './read-model-store';

interface Batch {
  /**
   * `collection\0id` → the document as the batch sees it (null: deleted or absent), and whether
   * the store holds it (null: put without being read, so not known).
   */
  docs: Map<string, { doc: Doc | null; existed: boolean | null }>;
  /** Keys written in this batch, in first-write order. */
  dirty: Map<string, { collection: string; id: string }>;
}

const keyOf = (collection: string, id: string) => `${collection}\u0000${id}`;
const RECENT_DOCUMENTS = 5000;

/**
 * The read-model store every consumer gets, with one addition: `batch(work)` runs `work` as a
 * unit of work. Inside it, `get` reads each document once and then sees the batch's own writes,
 * and `put`/`delete` are held and written together at the end, one `writeMany` per collection
 * (a bulk write on MongoDB, one transaction on SQLite). The commit pipeline projects a group of
 * commits in one batch, so a group of N commands costs a few round trips instead of 2–5 each.
 *
 * Queries that do not fit a unit of work (`find`, `count`, `setWhere`) first write what the
 * batch holds, so they see it. Outside a batch every call goes straight to the store.
 */
export class UnitOfWorkStore implements ReadModelStore {
  private readonly current = new AsyncLocalStorage<Batch>();
  /** Documents this process wrote last through a unit of work, newest last (bounded). */
  private readonly recent = new Map<string, Doc>();

  constructor(private readonly base: ReadModelStore) {}

  async batch<T>(work: () => Promise<T>): Promise<T> {
    if (this.current.getStore()) return work();
    const batch: Batch = { docs: new Map(), dirty: new Map() };
    const result = await this.current.run(batch, work);
    await this.flush(batch);
    return result;
  }

  /**
   * The document as this process's last unit of work wrote it, if still held: lets a command
   * answer from what its own projection just wrote instead of reading it back. The caller checks
   * it is the version it needs (another instance, or a later write, may have moved it on).
   */
  recentlyWritten<T extends Doc>(collection: string, id: string): T | null {
    const doc = this.recent.get(keyOf(collection, id));
    return doc ? (structuredClone(doc) as T) : null;
  }

  async get<T extends Doc>(collection: string, id: string): Promise<T | null> {
    const batch = this.current.getStore();
    if (!batch) return this.base.get<T>(collection, id);
    const key = keyOf(collection, id);
    let entry = batch.docs.get(key);
    if (!entry) {
      // The batch's copy is never handed out or changed, so the store's own object will do.
      const doc = this.base.peek ? await this.base.peek<T>(collection, id) : await this.base.get<T>(collection, id);
      entry = { doc, existed: doc !== null };
      batch.docs.set(key, entry);
    }
    return entry.doc ? (structuredClone(entry.doc) as T) : null;
  }

  async put(collection: string, doc: Doc): Promise<void> {
    const batch = this.current.getStore();
    if (!batch) {
      this.recent.delete(keyOf(collection, doc._id));
      return this.base.put(collection, doc);
    }
    // Not copied: a document handed to `put` belongs to the store (projections build a new one per write).
    const key = keyOf(collection, doc._id);
    batch.docs.set(key, { doc, existed: batch.docs.get(key)?.existed ?? null });
    batch.dirty.set(key, { collection, id: doc._id });
  }

  async delete(collection: string, id: string): Promise<void> {
    const batch = this.current.getStore();
    this.recent.delete(keyOf(collection, id));
    if (!batch) return this.base.delete(collection, id);
    const key = keyOf(collection, id);
    batch.docs.set(key, { doc: null, existed: batch.docs.get(key)?.existed ?? true });
    batch.dirty.set(key, { collection, id });
  }

  async setWhere(collection: string, filter: Filter, fields: Record<string, unknown>): Promise<number> {
    const batch = this.current.getStore();
    if (batch) await this.flush(batch, collection);
    const n = await this.base.setWhere(collection, filter, fields);
    for (const key of [...this.recent.keys()]) if (key.startsWith(`${collection}\u0000`)) this.recent.delete(key);
    // Documents the batch read may have changed under it: read them again when asked.
    if (batch) for (const key of [...batch.docs.keys()]) if (key.startsWith(`${collection}\u0000`)) batch.docs.delete(key);
    return n;
  }

  async find<T extends Doc>(collection: string, filter: Filter, options?: FindOptions): Promise<T[]> {
    const batch = this.current.getStore();
    if (batch) await this.flush(batch, collection);
    return this.base.find<T>(collection, filter, options);
  }

  async count(collection: string, filter: Filter): Promise<number> {
    const batch = this.current.getStore();
    if (batch) await this.flush(batch, collection);
    return this.base.count(collection, filter);
  }

  writeMany(collection: string, writes: ReadModelWrite[]): Promise<void> {
    return this.base.writeMany(collection, writes);
  }

  drop(collection: string): Promise<void> {
    return this.base.drop(collection);
  }

  ensureIndexes(collection: string, indexes: Array<Record<string, 1 | -1>>): Promise<void> {
    return this.base.ensureIndexes(collection, indexes);
  }

  ping(): Promise<boolean> {
    return this.base.ping();
  }

  close(): Promise<void> {
    return this.base.close();
  }

  /** Writes the batch's held writes (of one collection, or all), oldest first per collection. */
  private async flush(batch: Batch, only?: string): Promise<void> {
    const byCollection = new Map<string, ReadModelWrite[]>();
    for (const [key, { collection, id }] of batch.dirty) {
      if (only !== undefined && collection !== only) continue;
      const entry = batch.docs.get(key)!;
      const writes = byCollection.get(collection) ?? [];
      writes.push(entry.doc ? { put: entry.doc, exists: entry.existed } : { delete: id });
      byCollection.set(collection, writes);
      batch.dirty.delete(key);
      // Written now: a later put in this batch replaces an existing document.
      entry.existed = entry.doc !== null;
    }
    for (const [collection, writes] of byCollection) {
      await this.base.writeMany(collection, writes);
      for (const w of writes) {
        const key = keyOf(collection, 'delete' in w ? w.delete : w.put._id);
        this.recent.delete(key);
        if (!('delete' in w)) this.recent.set(key, w.put);
      }
    }
    while (this.recent.size > RECENT_DOCUMENTS) this.recent.delete(this.recent.keys().next().value!);
  }
}
