import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { matches, sortAndPage } from './filter.matcher';
import type { Doc, Filter, FindOptions, ReadModelStore, ReadModelWrite } from './read-model-store';

/**
 * Embedded-mode read models: documents kept in memory for queries and written through to a
 * SQLite file so they survive a restart without a rebuild.
 */
export class EmbeddedReadModelStore implements ReadModelStore {
  private readonly db: Database.Database;
  private readonly collections = new Map<string, Map<string, Doc>>();
  /** Prepared once: compiling a statement per write cost more than the write. */
  private readonly statements: { put: Database.Statement; delete: Database.Statement };
  /** Made once: better-sqlite3 prepares BEGIN/COMMIT for every transaction function it makes. */
  private readonly writeGroup: (collection: string, writes: ReadModelWrite[]) => void;

  constructor(file: string) {
    if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.exec('CREATE TABLE IF NOT EXISTS docs (collection TEXT NOT NULL, id TEXT NOT NULL, doc TEXT NOT NULL, PRIMARY KEY (collection, id))');
    this.statements = {
      put: this.db.prepare('INSERT OR REPLACE INTO docs (collection, id, doc) VALUES (?, ?, ?)'),
      delete: this.db.prepare('DELETE FROM docs WHERE collection = ? AND id = ?'),
    };
    this.writeGroup = this.db.transaction((collection: string, writes: ReadModelWrite[]) => {
      for (const w of writes) {
        if ('delete' in w) this.deleteSync(collection, w.delete);
        else this.putSync(collection, w.put);
      }
    });
    for (const row of this.db.prepare('SELECT collection, id, doc FROM docs').iterate() as Iterable<{ collection: string; id: string; doc: string }>) {
      this.coll(row.collection).set(row.id, JSON.parse(row.doc));
    }
  }

  async get<T extends Doc>(collection: string, id: string): Promise<T | null> {
    const doc = this.coll(collection).get(id);
    return doc ? (structuredClone(doc) as T) : null;
  }

  /** The stored object itself (never changed in place: every write replaces it). */
  async peek<T extends Doc>(collection: string, id: string): Promise<T | null> {
    return (this.coll(collection).get(id) as T | undefined) ?? null;
  }

  async put(collection: string, doc: Doc): Promise<void> {
    this.putSync(collection, doc);
  }

  /** One SQLite transaction for the whole group. */
  async writeMany(collection: string, writes: ReadModelWrite[]): Promise<void> {
    this.writeGroup(collection, writes);
  }

  /** What is kept in memory is exactly what a restart reads back from SQLite (JSON semantics). */
  private putSync(collection: string, doc: Doc): void {
    const text = JSON.stringify(doc);
    this.coll(collection).set(doc._id, JSON.parse(text) as Doc);
    this.statements.put.run(collection, doc._id, text);
  }

  private deleteSync(collection: string, id: string): void {
    this.coll(collection).delete(id);
    this.statements.delete.run(collection, id);
  }

  async setWhere(collection: string, filter: Filter, fields: Record<string, unknown>): Promise<number> {
    const hits = [...this.coll(collection).values()].filter((d) => matches(d, filter));
    await this.writeMany(collection, hits.map((doc) => ({ put: { ...doc, ...fields }, exists: true })));
    return hits.length;
  }

  async delete(collection: string, id: string): Promise<void> {
    this.deleteSync(collection, id);
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
