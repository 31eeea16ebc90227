import { performance } from 'node:perf_hooks';
import { appendBatch, appendDuration } from '../messaging/service.metrics';
import { tracedAppend } from './event-store.tracing';
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

interface QueuedAppend {
  request: AppendRequest;
  resolve: (outcome: AppendOutcome) => void;
  reject: (error: unknown) => void;
  started: number;
}

/**
 * Embedded-mode event store: one SQLite file under DATA_DIR. A commit is one row; the unique
 * (stream_id, version) pair is the optimistic-concurrency guard, as in the MongoDB store.
 * The file belongs to one process, so streams are cached whole: a hot stream is not re-read
 * and re-parsed for every command, and its version is known without a query.
 *
 * Appends are group-committed: those arriving in one turn of the event loop share one SQLite
 * transaction (a transaction's commit, not its statements, is what costs), each decided in
 * order against the state the earlier ones left.
 */
export class SqliteEventStore implements EventStore {
  private readonly db: Database.Database;
  private readonly streams = new Map<string, StoredEvent[]>();
  private readonly sql: Record<'byCommitId' | 'insert' | 'streamRows' | 'maxVersion' | 'after' | 'unpublishedBefore' | 'markProjected' | 'markPublished', Database.Statement>;
  private queued: QueuedAppend[] = [];
  /** Made once: better-sqlite3 prepares BEGIN/COMMIT for every transaction function it makes. */
  private readonly transaction: (work: () => unknown) => unknown;

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
    this.transaction = this.db.transaction((work: () => unknown) => work());
    // Prepared once: compiling a statement cost as much as running it.
    this.sql = {
      byCommitId: this.db.prepare('SELECT * FROM commits WHERE commit_id = ?'),
      // Either unique key taken means the append did not happen; which one is sorted out after.
      insert: this.db.prepare(
        'INSERT INTO commits (commit_id, stream_id, version, last_version, events, result) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING position',
      ),
      streamRows: this.db.prepare('SELECT * FROM commits WHERE stream_id = ? ORDER BY version'),
      maxVersion: this.db.prepare('SELECT MAX(last_version) AS v FROM commits WHERE stream_id = ?'),
      after: this.db.prepare('SELECT * FROM commits WHERE position > ? ORDER BY position LIMIT 1000'),
      unpublishedBefore: this.db.prepare('SELECT * FROM commits WHERE stream_id = ? AND version < ? AND published = 0 ORDER BY version'),
      markProjected: this.db.prepare('UPDATE commits SET projected = 1 WHERE position = ?'),
      markPublished: this.db.prepare('UPDATE commits SET published = 1 WHERE position = ?'),
    };
  }

  append(request: AppendRequest): Promise<AppendOutcome> {
    return tracedAppend('sqlite', request, () => new Promise((resolve, reject) => {
      this.queued.push({ request, resolve, reject, started: performance.now() });
      if (this.queued.length === 1) setImmediate(() => this.flush());
    }));
  }

  private flush(): void {
    const group = this.queued;
    this.queued = [];
    let outcomes: AppendOutcome[];
    try {
      outcomes = this.inTransaction(() => group.map((q) => this.appendInTransaction(q.request)));
    } catch {
      // Rolled back as a whole: one by one, so only the append that throws fails.
      for (const q of group) this.appendAlone(q);
      return;
    }
    appendBatch.observe(outcomes.filter((o) => o.status === 'appended').length);
    group.forEach((q, i) => this.settle(q, outcomes[i]));
  }

  private appendAlone(q: QueuedAppend): void {
    let outcome: AppendOutcome;
    try {
      outcome = this.inTransaction(() => this.appendInTransaction(q.request));
    } catch (error) {
      this.streams.delete(q.request.streamId);
      q.reject(error);
      return;
    }
    this.settle(q, outcome);
  }

  private inTransaction<T>(work: () => T): T {
    try {
      return this.transaction(work) as T;
    } finally {
      this.pendingVersion.clear();
    }
  }

  /** Only after the transaction committed may the stream cache learn of the append. */
  private settle(q: QueuedAppend, outcome: AppendOutcome): void {
    const { request } = q;
    const cached = this.streams.get(request.streamId);
    if (outcome.status === 'appended') {
      if (cached && cached.length === request.expectedVersion) this.streams.set(request.streamId, [...cached, ...outcome.commit.events]);
      else this.streams.delete(request.streamId);
    }
    appendDuration.observe({ outcome: outcome.status }, (performance.now() - q.started) / 1000);
    q.resolve(outcome);
  }

  /**
   * Decides one append inside the group's transaction. The cached stream cannot tell about
   * appends earlier in the same group (settled only after the commit), so `pendingVersion`
   * carries them.
   */
  private readonly pendingVersion = new Map<string, number>();
  private appendInTransaction(request: AppendRequest): AppendOutcome {
    const actual = this.pendingVersion.get(request.streamId) ?? this.version(request.streamId);
    if (actual !== request.expectedVersion) return this.duplicateOr({ status: 'conflict', actualVersion: actual }, request.commitId);
    const stored = stamp(request, actual, 0);
    const row = this.sql.insert.get(
      request.commitId, request.streamId, actual + 1, actual + request.events.length, JSON.stringify(stored), JSON.stringify(request.result ?? null),
    ) as { position: number } | undefined;
    if (!row) return this.duplicateOr({ status: 'conflict', actualVersion: this.queryVersion(request.streamId) }, request.commitId);
    this.pendingVersion.set(request.streamId, actual + request.events.length);
    const events = stored.map((e) => ({ ...e, position: row.position }));
    return { status: 'appended', commit: { commitId: request.commitId, streamId: request.streamId, position: row.position, events, result: request.result ?? null } };
  }

  /** A command delivered again finds its first commit, whatever the stream's version now. */
  private duplicateOr(outcome: AppendOutcome, commitId: string): AppendOutcome {
    const existing = this.sql.byCommitId.get(commitId) as CommitRow | undefined;
    return existing ? { status: 'duplicate', commit: toCommit(existing) } : outcome;
  }

  async readStream(streamId: string): Promise<StoredEvent[]> {
    const cached = this.streams.get(streamId);
    if (cached) return cached;
    const rows = this.sql.streamRows.all(streamId) as CommitRow[];
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
    const row = this.sql.byCommitId.get(commitId) as CommitRow | undefined;
    return row ? toCommit(row) : null;
  }

  async *replay(): AsyncIterable<Commit> {
    let after = 0;
    for (;;) {
      const rows = this.sql.after.all(after) as CommitRow[];
      if (rows.length === 0) return;
      for (const row of rows) yield toCommit(row);
      after = rows[rows.length - 1].position;
    }
  }

  async pending(stage: CommitStage, limit: number, afterPosition = 0): Promise<Commit[]> {
    const rows = this.db.prepare(`SELECT * FROM commits WHERE ${column(stage)} = 0 AND position > ? ORDER BY position LIMIT ?`).all(afterPosition, limit) as CommitRow[];
    return rows.map(toCommit);
  }

  async unpublished(limit: number): Promise<number> {
    return (this.db.prepare('SELECT count(*) AS n FROM (SELECT 1 FROM commits WHERE published = 0 LIMIT ?)').get(limit) as { n: number }).n;
  }

  async unpublishedBefore(streamId: string, beforeVersion: number): Promise<Commit[]> {
    const rows = this.sql.unpublishedBefore.all(streamId, beforeVersion) as CommitRow[];
    return rows.map(toCommit);
  }

  async markDone(stage: CommitStage, commits: Commit[]): Promise<void> {
    const update = stage === 'projected' ? this.sql.markProjected : this.sql.markPublished;
    this.transaction(() => commits.forEach((c) => update.run(c.position)));
  }

  async ping(): Promise<boolean> {
    return this.db.open;
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }

  private version(streamId: string): number {
    return this.streams.get(streamId)?.length ?? this.queryVersion(streamId);
  }

  private queryVersion(streamId: string): number {
    return (this.sql.maxVersion.get(streamId) as { v: number | null }).v ?? 0;
  }
}

function column(stage: CommitStage): 'projected' | 'published' {
  return stage === 'projected' ? 'projected' : 'published';
}

/** Events are stored before their row has a position (one insert per commit): the row's is theirs. */
function toCommit(row: CommitRow): Commit {
  return {
    commitId: row.commit_id,
    streamId: row.stream_id,
    position: row.position,
    events: (JSON.parse(row.events) as StoredEvent[]).map((e) => ({ ...e, position: row.position })),
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
