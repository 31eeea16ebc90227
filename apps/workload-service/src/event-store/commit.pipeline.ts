import { Inject, Injectable, Logger } from '@nestjs/common';
import { READ_MODEL_STORE, ReadModelStore } from '../read-models/read-model-store';
import { Commit, EVENT_STORE, EventStore, StoredEvent } from './event-store';

/** A read model fed by stored events. `apply` must be idempotent: catch-up may replay an event. */
export interface Projection {
  readonly collections: string[];
  apply(event: StoredEvent): Promise<void>;
}

export const PROJECTIONS = Symbol('PROJECTIONS');

/** Reacts to a commit once it is projected: the outbox relay, the lifecycle saga. Must not block. */
export interface CommitListener {
  committed(commit: Commit): void;
}

/**
 * What happens after an append: project synchronously (so the command's reply can be read
 * back at once), then wake the outbox relay. Each step is recorded on the commit, so a crash
 * in between is repaired by `catchUp` at the next start.
 */
@Injectable()
export class CommitPipeline {
  private readonly logger = new Logger('CommitPipeline');

  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(READ_MODEL_STORE) private readonly readModels: ReadModelStore,
    @Inject(PROJECTIONS) private readonly projections: Projection[],
  ) {}

  private readonly listeners: CommitListener[] = [];
  /**
   * Projection runs one commit at a time: projections read-modify-write shared documents (a
   * workload's status and its artifact summary come from different streams), so two commits
   * projected at once could undo each other's writes.
   */
  private projecting: Promise<unknown> = Promise.resolve();

  /** Listeners are added at boot, not injected: they append through this pipeline themselves. */
  subscribe(listener: CommitListener): void {
    this.listeners.push(listener);
  }

  async afterAppend(commit: Commit): Promise<void> {
    await this.serially(() => this.project([commit]));
    this.listeners.forEach((l) => l.committed(commit));
  }

  /** Projects every commit not projected yet, oldest first. Returns how many. */
  async catchUp(): Promise<number> {
    let total = 0;
    for (;;) {
      const batch = await this.store.pending('projected', 500);
      if (batch.length === 0) return total;
      await this.serially(() => this.project(batch));
      total += batch.length;
    }
  }

  /** Drops every read model and replays the whole log into it, in position order. */
  async rebuild(onProgress?: (done: number) => void): Promise<number> {
    for (const p of this.projections) for (const c of p.collections) await this.readModels.drop(c);
    let total = 0;
    for await (const commit of this.store.replay()) {
      for (const event of commit.events) for (const p of this.projections) await p.apply(event);
      total += 1;
      if (total % 1000 === 0) onProgress?.(total);
    }
    // Whatever was waiting to be projected is in the new read models now.
    for (;;) {
      const waiting = await this.store.pending('projected', 1000);
      if (waiting.length === 0) break;
      await this.store.markDone('projected', waiting.map((c) => c.commitId));
    }
    this.logger.log(`rebuilt read models from ${total} commits`);
    return total;
  }

  private serially<T>(work: () => Promise<T>): Promise<T> {
    const next = this.projecting.then(work, work);
    this.projecting = next.catch(() => undefined);
    return next;
  }

  private async project(commits: Commit[]): Promise<void> {
    for (const commit of commits) {
      for (const event of commit.events) for (const p of this.projections) await p.apply(event);
    }
    await this.store.markDone('projected', commits.map((c) => c.commitId));
  }
}
