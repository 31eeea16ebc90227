/**
 * The event store seam: MongoDB (distributed) and SQLite (embedded) implement it. Events are
 * appended in commits — one document/row per accepted command — so a multi-event append is
 * atomic without multi-document transactions, and `commitId` (derived from the command id)
 * makes appends idempotent.
 */

/** An event as the domain produces it: an explicit type and schema version, never a class name. */
export interface NewEvent {
  type: string;
  schemaVersion: number;
  data: Record<string, unknown>;
}

export interface StoredEvent extends NewEvent {
  eventId: string;
  streamId: string;
  /** 1-based position within the stream. */
  version: number;
  /** Global order: the commit's position; events of one commit share it and keep array order. */
  position: number;
  occurredAt: string;
  actorId: string | null;
  commitId: string;
}

export interface Commit {
  commitId: string;
  streamId: string;
  position: number;
  events: StoredEvent[];
  /** What the command answered when it was accepted, replayed for redeliveries. */
  result: unknown;
}

export interface AppendRequest {
  streamId: string;
  /** Version the decision was taken on; 0 for a new stream. */
  expectedVersion: number;
  events: NewEvent[];
  commitId: string;
  actorId: string | null;
  occurredAt: string;
  result?: unknown;
}

export type AppendOutcome =
  | { status: 'appended'; commit: Commit }
  | { status: 'conflict'; actualVersion: number }
  | { status: 'duplicate'; commit: Commit };

/** Which after-append step a commit is waiting for: read-model projection or outbox publish. */
export type CommitStage = 'projected' | 'published';

export interface EventStore {
  append(request: AppendRequest): Promise<AppendOutcome>;
  /**
   * The stream's events. `fresh` (default) sees every commit made so far, by any process;
   * `cached` may answer from this process's copy without a round trip (a decision taken on it
   * is still safe: an append from a stale view collides).
   */
  readStream(streamId: string, freshness?: 'fresh' | 'cached'): Promise<StoredEvent[]>;
  streamVersion(streamId: string): Promise<number>;
  /** The commit a command's append made in `streamId`, if any: commit ids are unique per stream. */
  findCommit(commitId: string, streamId: string): Promise<Commit | null>;
  /** Every commit in position order, for rebuilds and replays. */
  replay(): AsyncIterable<Commit>;
  /**
   * Oldest commits after `afterPosition` that have not passed `stage` yet, in position order. A
   * store may return commits that passed `projected` (projections are idempotent). With
   * `settledMs`, only commits appended at least that long ago (a store of one process, which
   * sees its own appends in memory anyway, may ignore it).
   */
  pending(stage: CommitStage, limit: number, afterPosition?: number, settledMs?: number): Promise<Commit[]>;
  markDone(stage: CommitStage, commits: Commit[]): Promise<void>;
  /** How many commits are not published yet, counted up to `limit` (may count in-flight or void positions: a gauge, not a list). */
  unpublished(limit: number): Promise<number>;
  /** The unpublished commits of `streamId` before version `beforeVersion`, in stream order. */
  unpublishedBefore(streamId: string, beforeVersion: number): Promise<Commit[]>;
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

export const EVENT_STORE = Symbol('EVENT_STORE');

export function eventIdOf(commitId: string, index: number): string {
  return `${commitId}#${index}`;
}
