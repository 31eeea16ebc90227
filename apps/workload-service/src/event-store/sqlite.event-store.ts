import { performance } from 'node:perf_hooks';
import { appendBatch, appendDuration } from '../messaging/service.metrics';
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { AppendOutcome, AppendRequest, Commit, CommitStage, EventStore, StoredEvent, eventIdOf } from './event-store';

interface CommitRow {
  position: number;
  commit_id: string;
  stream_id: string;
  events: string;
  result: string | null;
}

const STREAM_CACHE_SIZE = 10_000;

/**
 * Embedded-mode event store: one SQLite file under DATA_DIR. A commit is one row; the unique
 * (stream_id, version) pair is the optimistic-concurrency guard, as in the MongoDB store.
 * The file belongs to one process, so streams are cached whole: a hot stream is not re-read
 * and re-parsed for every command.
 */
export class SqliteEventStore implements EventStore {
  private readonly db: Database.Database;
  private readonly streams = new Map<string, StoredEvent[]>();

  constructor(file: string) {
    if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS commits (
        position INTEGER PRIMARY KEY AUTOINCREMENT,
        commit_id TEXT NOT NULL UNIQUE,
        stream_id TEXT NOT NULL,
        version INTEGER NOT NULL,
        last_version INTEGER NOT NULL,
        events TEXT NOT NULL,
        result TEXT,
        projected INTEGER NOT NULL DEFAULT 0,
        published INTEGER NOT NULL DEFAULT 0,
        UNIQUE (stream_id, version)
      );
      CREATE INDEX IF NOT EXISTS commits_unprojected ON commits (projected, position);
      CREATE INDEX IF NOT EXISTS commits_unpublished ON commits (published, position);
    `);
  }

  async append(request: AppendRequest): Promise<AppendOutcome> {
    const started = performance.now();
    const outcome = await this.appendNow(request);
    appendDuration.observe({ outcome: outcome.status }, (performance.now() - started) / 1000);
    // One transaction per append: a group of one.
    if (outcome.status === 'appended') appendBatch.observe(1);
    return outcome;
  }

  private async appendNow(request: AppendRequest): Promise<AppendOutcome> {
    const outcome = this.db.transaction((): AppendOutcome => {
      const existing = this.db.prepare('SELECT * FROM commits WHERE commit_id = ?').get(request.commitId) as CommitRow | undefined;
      if (existing) return { status: 'duplicate', commit: toCommit(existing) };
      const actual = this.version(request.streamId);
      if (actual !== request.expectedVersion) return { status: 'conflict', actualVersion: actual };
      const info = this.db
        .prepare('INSERT INTO commits (commit_id, stream_id, version, last_version, events, result) VALUES (?, ?, ?, ?, ?, ?)')
        .run(request.commitId, request.streamId, actual + 1, actual + request.events.length, '[]', JSON.stringify(request.result ?? null));
      const position = Number(info.lastInsertRowid);
      const events = stamp(request, actual, position);
      this.db.prepare('UPDATE commits SET events = ? WHERE position = ?').run(JSON.stringify(events), position);
      return { status: 'appended', commit: { commitId: request.commitId, streamId: request.streamId, position, events, result: request.result ?? null } };
    })();
    const cached = this.streams.get(request.streamId);
    if (outcome.status === 'appended' && cached && cached.length === request.expectedVersion) this.streams.set(request.streamId, [...cached, ...outcome.commit.events]);
    else if (outcome.status !== 'duplicate') this.streams.delete(request.streamId);
    return outcome;
  }

  async readStream(streamId: string): Promise<StoredEvent[]> {
    const cached = this.streams.get(streamId);
    if (cached) return cached;
    const rows = this.db.prepare('SELECT * FROM commits WHERE stream_id = ? ORDER BY version').all(streamId) as CommitRow[];
    const events = rows.flatMap((r) => toCommit(r).events);
    if (this.streams.size >= STREAM_CACHE_SIZE) this.streams.delete(this.streams.keys().next().value!);
    this.streams.set(streamId, events);
    return events;
  }

  async streamVersion(streamId: string): Promise<number> {
    return this.version(streamId);
  }

  async findCommit(commitId: string): Promise<Commit | null> {
    // commit_id is unique across streams here; the stream is not needed to find it.
    const row = this.db.prepare('SELECT * FROM commits WHERE commit_id = ?').get(commitId) as CommitRow | undefined;
    return row ? toCommit(row) : null;
  }

  async *replay(): AsyncIterable<Commit> {
    let after = 0;
    for (;;) {
      const rows = this.db.prepare('SELECT * FROM commits WHERE position > ? ORDER BY position LIMIT 1000').all(after) as CommitRow[];
      if (rows.length === 0) return;
      for (const row of rows) yield toCommit(row);
      after = rows[rows.length - 1].position;
    }
  }

  async pending(stage: CommitStage, limit: number, afterPosition = 0): Promise<Commit[]> {
    const rows = this.db.prepare(`SELECT * FROM commits WHERE ${column(stage)} = 0 AND position > ? ORDER BY position LIMIT ?`).all(afterPosition, limit) as CommitRow[];
    return rows.map(toCommit);
  }

  async unpublishedBefore(streamId: string, beforeVersion: number): Promise<Commit[]> {
    const rows = this.db.prepare('SELECT * FROM commits WHERE stream_id = ? AND version < ? AND published = 0 ORDER BY version').all(streamId, beforeVersion) as CommitRow[];
    return rows.map(toCommit);
  }

  async markDone(stage: CommitStage, commits: Commit[]): Promise<void> {
    const update = this.db.prepare(`UPDATE commits SET ${column(stage)} = 1 WHERE position = ?`);
    this.db.transaction(() => commits.forEach((c) => update.run(c.position)))();
  }

  async ping(): Promise<boolean> {
    return this.db.open;
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }

  private version(streamId: string): number {
    const row = this.db.prepare('SELECT MAX(last_version) AS v FROM commits WHERE stream_id = ?').get(streamId) as { v: number | null };
    return row.v ?? 0;
  }
}

function column(stage: CommitStage): 'projected' | 'published' {
  return stage === 'projected' ? 'projected' : 'published';
}

function toCommit(row: CommitRow): Commit {
  return {
    commitId: row.commit_id,
    streamId: row.stream_id,
    position: row.position,
    events: JSON.parse(row.events) as StoredEvent[],
    result: row.result ? JSON.parse(row.result) : null,
  };
}

export function stamp(request: AppendRequest, actualVersion: number, position: number): StoredEvent[] {
  return request.events.map((e, i) => ({
    ...e,
    eventId: eventIdOf(request.commitId, i),
    streamId: request.streamId,
    version: actualVersion + i + 1,
    position,
    occurredAt: request.occurredAt,
    actorId: request.actorId,
    commitId: request.commitId,
  }));
}
