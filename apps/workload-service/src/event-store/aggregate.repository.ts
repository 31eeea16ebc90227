import { Inject, Injectable } from '@nestjs/common';
import { Actor, DomainError, domainError } from '@wcp/contracts';
import { Commit, EVENT_STORE, EventStore, NewEvent, StoredEvent } from './event-store';
import { CommitPipeline } from './commit.pipeline';

export interface Versioned {
  version: number;
}

export interface ExecuteOptions<S extends Versioned, E extends NewEvent, R> {
  streamId: string;
  initial: S;
  evolve: (state: S, event: E) => S;
  /** Idempotency key of this append: the command id, suffixed when one command writes several streams. */
  commitId: string;
  actor: Actor | null;
  now: string;
  decide: (state: S) => { events: E[]; result: R } | DomainError;
  /**
   * `fresh` for a stream every instance writes (the capacity ledger): the first attempt then
   * does not decide on this process's copy, since a refusal decided on a stale copy appends
   * nothing and so never collides. Default: the cached copy first (the stream's owner has it).
   */
  firstRead?: 'fresh' | 'cached';
}

export type ExecuteOutcome<R> = { ok: true; result: R; duplicate: boolean; commit: Commit | null } | { ok: false; error: DomainError };

const MAX_CONFLICT_RETRIES = 5;
const FOLDED_STREAMS = 10_000;

/** Adapts a decider that answers only events (or a refusal) to `decide`, with no result. */
export function eventsOnly<E>(decided: E[] | DomainError): { events: E[]; result: null } | DomainError {
  return Array.isArray(decided) ? { events: decided, result: null } : decided;
}

/**
 * Load → decide → append, retried on optimistic-concurrency conflicts (another writer won the
 * race: decide again on the fresh state). A commit id seen before returns the first result.
 */
@Injectable()
export class AggregateRepository {
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore, private readonly pipeline: CommitPipeline) {}

  /**
   * The last state folded per stream: a stream only grows, so the next read folds only the events
   * after it (a hot stream would otherwise be folded from its first event for every command).
   * States are immutable values (deciders and evolvers return new objects).
   */
  private readonly folded = new Map<string, { evolve: unknown; length: number; state: unknown }>();

  async load<S extends Versioned, E extends NewEvent>(streamId: string, initial: S, evolve: (state: S, event: E) => S): Promise<S> {
    return this.fold(streamId, await this.store.readStream(streamId), initial, evolve);
  }

  private fold<S, E>(streamId: string, events: readonly StoredEvent[], initial: S, evolve: (state: S, event: E) => S): S {
    const cached = this.folded.get(streamId);
    const from = cached && cached.evolve === evolve && cached.length <= events.length ? cached : { length: 0, state: initial };
    let state = from.state as S;
    for (let i = from.length; i < events.length; i++) state = evolve(state, events[i] as unknown as E);
    if (this.folded.size >= FOLDED_STREAMS && !this.folded.has(streamId)) this.folded.delete(this.folded.keys().next().value!);
    this.folded.set(streamId, { evolve, length: events.length, state });
    return state;
  }

  /** Whether an append with this commit id happened already in `streamId` (a redelivered command). */
  async isCommitted(commitId: string, streamId: string): Promise<boolean> {
    return (await this.store.findCommit(commitId, streamId)) !== null;
  }

  async execute<S extends Versioned, E extends NewEvent, R>(options: ExecuteOptions<S, E, R>): Promise<ExecuteOutcome<R>> {
    for (let attempt = 0; attempt <= MAX_CONFLICT_RETRIES; attempt++) {
      // The first attempt decides on the stream as this process last saw it: if another instance
      // moved it on, the append collides and the next attempt reads it afresh. Then look for the
      // command's commit in what was read (a redelivery), before deciding again.
      const events = await this.store.readStream(options.streamId, attempt === 0 ? (options.firstRead ?? 'cached') : 'fresh');
      const previous = await this.store.findCommit(options.commitId, options.streamId);
      if (previous) return this.redelivered<R>(previous, options.streamId);
      const state = this.fold(options.streamId, events, options.initial, options.evolve);
      // Event times never go backwards within a stream, whatever the clocks of its writers.
      const last = events.at(-1)?.occurredAt;
      const now = last && last > options.now ? last : options.now;
      const decision = options.decide(state);
      if ('code' in decision) return { ok: false, error: decision };
      if (decision.events.length === 0) return { ok: true, result: decision.result, duplicate: false, commit: null };
      const outcome = await this.store.append({
        streamId: options.streamId,
        expectedVersion: state.version,
        events: decision.events,
        commitId: options.commitId,
        actorId: options.actor?.id ?? null,
        occurredAt: now,
        result: decision.result,
      });
      if (outcome.status === 'duplicate') return this.redelivered<R>(outcome.commit, options.streamId);
      if (outcome.status === 'appended') {
        await this.pipeline.afterAppend(outcome.commit);
        return { ok: true, result: decision.result, duplicate: false, commit: outcome.commit };
      }
    }
    return { ok: false, error: domainError('conflict', 'CONCURRENT_MODIFICATION', `Stream ${options.streamId} kept changing; try again.`) };
  }

  /**
   * A command whose commit exists already. The instance that appended it may have died before
   * projecting it (the command was redelivered to this one), so the stream is projected again
   * from that commit on, in order — replaying one old commit alone could set a read model back
   * (a creation resets its document) — before the first result is answered.
   */
  private async redelivered<R>(commit: Commit, streamId: string): Promise<ExecuteOutcome<R>> {
    const events = await this.store.readStream(streamId, 'cached');
    const from = events.findIndex((e) => e.commitId === commit.commitId);
    // Not in this process's copy of the stream (a store that finds commits by id alone): that commit only.
    await this.pipeline.reproject(from === -1 ? [commit] : commitsOf(streamId, events.slice(from)));
    return { ok: true, result: commit.result as R, duplicate: true, commit };
  }
}

/** Consecutive events of one stream regrouped by commit (projections read only the events). */
function commitsOf(streamId: string, events: readonly StoredEvent[]): Commit[] {
  const commits: Commit[] = [];
  for (const event of events) {
    const last = commits.at(-1);
    if (last && last.commitId === event.commitId) last.events.push(event);
    else commits.push({ commitId: event.commitId, streamId, position: event.position, events: [event], result: null });
  }
  return commits;
}
