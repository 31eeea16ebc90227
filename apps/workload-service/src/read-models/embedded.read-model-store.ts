import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { matches, sortAndPage } from './filter.matcher';
import type { Doc, Filter, FindOptions, ReadModelStore } from './read-model-store';

/**
 * Embedded-mode read models: documents kept in memory for queries and written through to a
 * SQLite file so they survive a restart without a rebuild.
 */
export class EmbeddedReadModelStore implements ReadModelStore {
  private readonly db: Database.Database;
  private readonly collections = new Map<string, Map<string, Doc>>();

  constructor(file: string) {
    if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.exec('CREATE TABLE IF NOT EXISTS docs (collection TEXT NOT NULL, id TEXT NOT NULL, doc TEXT NOT NULL, PRIMARY KEY (collection, id))');
    for (const row of this.db.prepare('SELECT collection, id, doc FROM docs').iterate() as Iterable<{ collection: string; id: string; doc: string }>) {
      this.coll(row.collection).set(row.id, JSON.parse(row.doc));
    }
  }

  async get<T extends Doc>(collection: string, id: string): Promise<T | null> {
    const doc = this.coll(collection).get(id);
    return doc ? (structuredClone(doc) as T) : null;
  }

  async put(collection: string, doc: Doc): Promise<void> {
    const copy = JSON.parse(JSON.stringify(doc)) as Doc;
    this.coll(collection).set(doc._id, copy);
    this.db.prepare('INSERT OR REPLACE INTO docs (collection, id, doc) VALUES (?, ?, ?)').run(collection, doc._id, JSON.stringify(copy));
  }

  async setWhere(collection: string, filter: Filter, fields: Record<string, unknown>): Promise<number> {
    const hits = [...this.coll(collection).values()].filter((d) => matches(d, filter));
    for (const doc of hits) await this.put(collection, { ...doc, ...fields });
    return hits.length;
  }

  async delete(collection: string, id: string): Promise<void> {
    this.coll(collection).delete(id);
    this.db.prepare('DELETE FROM docs WHERE collection = ? AND id = ?').run(collection, id);
  }

  async find<T extends Doc>(collection: string, filter: Filter, options?: FindOptions): Promise<T[]> {
    const hits = [...this.coll(collection).values()].filter((d) => matches(d, filter));
    return sortAndPage(hits, options).map((d) => structuredClone(d) as T);
  }

  async count(collection: string, filter: Filter): Promise<number> {
    let n = 0;
    for (const d of this.coll(collection).values()) if (matches(d, filter)) n++;
    return n;
  }

  async drop(collection: string): Promise<void> {
    this.collections.delete(collection);
    this.db.prepare('DELETE FROM docs WHERE collection = ?').run(collection);
  }

  async ensureIndexes(): Promise<void> {
    // Scans in memory; nothing to index.
  }

  async ping(): Promise<boolean> {
    return this.db.open;
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }

  private coll(name: string): Map<string, Doc> {
    let c = this.collections.get(name);
    if (!c) {
      c = new Map();
      this.collections.set(name, c);
    }
    return c;
  }
}
