import { Inject, Injectable, Logger } from '@nestjs/common';
import { AsyncLocalStorage } from 'node:async_hooks';
import { READ_MODEL_STORE, ReadModelStore } from '../read-models/read-model-store';
import { UnitOfWorkStore } from '../read-models/unit-of-work.store';
import { Commit, EVENT_STORE, EventStore, StoredEvent } from './event-store';

/** A read model fed by stored events. `apply` must be idempotent: catch-up may replay an event. */
export interface Projection {
  readonly collections: string[];
  apply(event: StoredEvent): Promise<void>;
}

export const PROJECTIONS = Symbol('PROJECTIONS');

/** Commits projected in one unit of work at most, live and during a rebuild. */
const GROUP_SIZE = 200;
const REBUILD_GROUP = 1000;

/**
 * Set by the command consumer around a command: called once the command's commit has its place
 * in the projection order, so the next command of the same aggregate may decide and append while
 * this one is still being projected and answered.
 */
export const commitOrdered = new AsyncLocalStorage<() => void>();

/** Reacts to a commit once it is projected: the outbox relay, the lifecycle saga. Must not block. */
export interface CommitListener {
  committed(commit: Commit): void;
}

/**
 * What happens after an append: project synchronously (so the command's reply can be read
 * back at once), then wake the outbox relay. Each step is recorded on the commit, so a crash
 * in between is repaired by `catchUp` at the next start.
 *
 * Commits appended concurrently are projected as a group, in one read-model unit of work (a
 * few bulk writes for the whole group); a group that fails is projected again commit by commit,
 * so one bad commit fails only its own command.
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

  private readonly waiting: Array<{ commit: Commit; done: (error?: unknown) => void }> = [];

  afterAppend(commit: Commit): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const first = this.waiting.length === 0;
      this.waiting.push({ commit, done: (error) => (error === undefined ? resolve() : reject(error)) });
      if (first) void this.serially(() => this.projectWaiting());
      commitOrdered.getStore()?.();
    }).then(() => {
      // After the command's own continuation has queued its reply: the relay's publish then joins
      // the reply in one Kafka request instead of going first and making the reply wait for it.
      setImmediate(() => this.listeners.forEach((l) => l.committed(commit)));
    });
  }

  private async projectWaiting(): Promise<void> {
    while (this.waiting.length > 0) {
      const group = this.waiting.splice(0, GROUP_SIZE);
      try {
        await this.project(group.map((g) => g.commit), { reuseOwnWrites: true });
        group.forEach((g) => g.done());
      } catch {
        // Commit by commit, from fresh reads (the failed flush left the documents unknown).
        for (const g of group) {
          try {
            await this.project([g.commit]);
            g.done();
          } catch (error) {
            g.done(error);
          }
        }
      }
    }
  }

  /** Projects commits again, in order, without waking the listeners (they acted on them already). */
  reproject(commits: Commit[]): Promise<void> {
    return this.serially(() => this.project(commits));
  }

  /** Projects every commit not projected yet, oldest first. Returns how many. */
  async catchUp(): Promise<number> {
    let total = 0;
    let after = 0;
    for (;;) {
      const batch = await this.store.pending('projected', 500, after);
      if (batch.length === 0) return total;
      await this.serially(() => this.project(batch));
      total += batch.length;
      after = batch[batch.length - 1].position;
    }
  }

  /** Drops every read model and replays the whole log into it, in position order. */
  async rebuild(onProgress?: (done: number) => void): Promise<number> {
    for (const p of this.projections) for (const c of p.collections) await this.readModels.drop(c);
    let total = 0;
    let replayed: Commit[] = [];
    // Whatever was waiting to be projected is in the new read models once replayed.
    for await (const commit of this.store.replay()) {
      replayed.push(commit);
      total += 1;
      if (replayed.length === REBUILD_GROUP) {
        await this.project(replayed);
        replayed = [];
        onProgress?.(total);
      }
    }
    await this.project(replayed);
    this.logger.log(`rebuilt read models from ${total} commits`);
    return total;
  }

  private serially<T>(work: () => Promise<T>): Promise<T> {
    const next = this.projecting.then(work, work);
    this.projecting = next.catch(() => undefined);
    return next;
  }

  /** `reuseOwnWrites`: the commits were just appended by this process (see `UnitOfWorkStore.batch`). */
  private async project(commits: Commit[], options: { reuseOwnWrites?: boolean } = {}): Promise<void> {
    await this.unitOfWork(async () => {
      for (const commit of commits) {
        for (const event of commit.events) for (const p of this.projections) await p.apply(event);
      }
    }, options);
    await this.store.markDone('projected', commits);
  }

  private unitOfWork(work: () => Promise<void>, options: { reuseOwnWrites?: boolean }): Promise<void> {
    return this.readModels instanceof UnitOfWorkStore ? this.readModels.batch(work, options) : work();
  }
}
