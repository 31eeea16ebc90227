import { AsyncLocalStorage } from 'node:async_hooks';
import type { Doc, Filter, FindOptions, GetOptions, ReadModelStore, ReadModelWrite } from './read-model-store';

interface Batch {
  /**
   * `collection\0id` → the document as the batch sees it (null: deleted or absent), whether
   * the store holds it (null: put without being read, so not known), and `base`: the document
   * as the store holds it (read, or this process's own last write), from which only the changed
   * fields are written.
   */
  docs: Map<string, { doc: Doc | null; existed: boolean | null; base?: Doc }>;
  /** Keys written in this batch, in first-write order. */
  dirty: Map<string, { collection: string; id: string }>;
  /** Whether `get` may answer from `recent` (see `batch`). */
  reuseOwnWrites: boolean;
}

const keyOf = (collection: string, id: string) => `${collection}\u0000${id}`;
const RECENT_DOCUMENTS = 5000;

/** Versioned documents (a numeric `v`, the last stream version applied) can be reused from this process's last write. */
const versioned = (doc: Doc): boolean => typeof doc.v === 'number';

/**
 * The read-model store every consumer gets, with one addition: `batch(work)` runs `work` as a
 * unit of work. Inside it, `get` reads each document once and then sees the batch's own writes,
 * and `put`/`delete` are held and written together at the end, one `writeMany` per collection
 * (a bulk write on MongoDB, one transaction on SQLite). The commit pipeline projects a group of
 * commits in one batch, so a group of N commands costs a few round trips instead of 2–5 each.
 *
 * Queries that do not fit a unit of work (`find`, `count`, `setWhere`) first write what the
 * batch holds, so they see it. Outside a batch every call goes straight to the store.
 *
 * A versioned document (`v`) this process wrote last is kept (`recent`, bounded): in a batch
 * that projects this process's own fresh appends, a `get` that asks for it at that version
 * (`ownWriteAt`) starts from it instead of reading, and every write
 * sends only the fields that changed from what the batch started from. Any write of a document
 * through this store outside a batch (`put`, `delete`, `setWhere`, `writeMany`, `drop`) drops
 * it from `recent`, and so does a flush that fails (what the store then holds is not known).
 */
export class UnitOfWorkStore implements ReadModelStore {
  private readonly current = new AsyncLocalStorage<Batch>();
  /** Versioned documents this process wrote last through a unit of work, newest last (bounded). */
  private readonly recent = new Map<string, Doc>();

  constructor(private readonly base: ReadModelStore) {}

  /**
   * `reuseOwnWrites`: only for projecting commits this process has just appended. Such a commit
   * of stream version N was appended on a stream at N − 1, so no instance can have written a
   * later version of its documents yet (short of another instance appending and projecting
   * N + 1 before this flush, the same race any read-then-write has). A commit projected again
   * later (a redelivery, the boot catch-up) may meet documents another instance moved on since
   * this process wrote them: those batches read.
   */
  async batch<T>(work: () => Promise<T>, options: { reuseOwnWrites?: boolean } = {}): Promise<T> {
    if (this.current.getStore()) return work();
    const batch: Batch = { docs: new Map(), dirty: new Map(), reuseOwnWrites: options.reuseOwnWrites ?? false };
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

  async get<T extends Doc>(collection: string, id: string, options?: GetOptions): Promise<T | null> {
    const batch = this.current.getStore();
    if (!batch) return this.base.get<T>(collection, id);
    const key = keyOf(collection, id);
    let entry = batch.docs.get(key);
    if (!entry) {
      const written = batch.reuseOwnWrites && options?.ownWriteAt !== undefined ? this.recent.get(key) : undefined;
      // The batch's copy is never handed out or changed, so the store's own object will do.
      const doc = written && written.v === options!.ownWriteAt ? written : (this.base.peek ? await this.base.peek<T>(collection, id) : await this.base.get<T>(collection, id));
      entry = { doc, existed: doc !== null, ...(doc ? { base: doc } : {}) };
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
    const before = batch.docs.get(key);
    batch.docs.set(key, { doc, existed: before?.existed ?? null, ...(before?.base ? { base: before.base } : {}) });
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
    for (const w of writes) this.recent.delete(keyOf(collection, 'delete' in w ? w.delete : w.put._id));
    return this.base.writeMany(collection, writes);
  }

  drop(collection: string): Promise<void> {
    for (const key of [...this.recent.keys()]) if (key.startsWith(`${collection}\u0000`)) this.recent.delete(key);
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
      writes.push(entry.doc ? { put: entry.doc, exists: entry.existed, ...(entry.existed && entry.base ? { base: entry.base } : {}) } : { delete: id });
      byCollection.set(collection, writes);
      batch.dirty.delete(key);
      // Written now: a later put in this batch replaces an existing document, starting from this one.
      entry.existed = entry.doc !== null;
      if (entry.doc) entry.base = entry.doc;
      else delete entry.base;
    }
    // Collections are independent documents: written side by side, one round trip of latency for all.
    const results = await Promise.allSettled(
      [...byCollection].map(async ([collection, writes]) => {
        const keys = writes.map((w) => keyOf(collection, 'delete' in w ? w.delete : w.put._id));
        try {
          await this.base.writeMany(collection, writes);
        } catch (error) {
          // What the store holds of these documents is not known any more: read them next time.
          for (const key of keys) this.recent.delete(key);
          throw error;
        }
        writes.forEach((w, i) => {
          this.recent.delete(keys[i]);
          if (!('delete' in w) && versioned(w.put)) this.recent.set(keys[i], w.put);
        });
      }),
    );
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    while (this.recent.size > RECENT_DOCUMENTS) this.recent.delete(this.recent.keys().next().value!);
  }
}
