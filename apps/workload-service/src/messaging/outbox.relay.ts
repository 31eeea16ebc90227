import { Inject, Injectable, Logger } from '@nestjs/common';
import { Topics, WorkloadIntegrationEvent } from '@wcp/contracts';
import { MESSAGE_BUS, MessageBus } from '@wcp/messaging';
import { CONFIG, WorkloadServiceConfig } from '../config';
import type { CommitListener } from '../event-store/commit.pipeline';
import { Commit, EVENT_STORE, EventStore } from '../event-store/event-store';
import { OUTBOX_LEASE, OutboxLease } from './outbox.lease';
import { toApiEvent } from '../workloads/domain/workload-event-types';
import type { WorkloadEvent } from '../workloads/domain/workload.events';
import { sampled } from '@wcp/metrics';

/** The scrape counts unpublished commits up to this many (from the stores' bookkeeping, not a full count). */
const UNPUBLISHED_COUNT_LIMIT = 1000;

/** Commits held in memory for publishing at most; beyond that the oldest are left to the sweep. */
const MAX_HELD = 20_000;
const SWEEP_BATCH = 200;
/** Streams whose last published version this relay remembers. */
const KNOWN_STREAMS = 20_000;

/**
 * Transactional-outbox relay: the event store is the outbox.
 *
 * - **Own commits, from memory.** The pipeline hands every commit of this instance to
 *   `committed` once projected; they are published in that order (so per workload in stream
 *   order) and then marked, without reading them back.
 * - **Everyone else's, by a sweep.** On a timer, the instance holding the outbox lease publishes
 *   the commits still unmarked after OUTBOX_SWEEP_AFTER_MS: those of an instance that died (or
 *   of this one before a restart) between append and publish, or that a broker outage left behind.
 *
 * Per stream, events go out in stream order: before the first commit of a stream this relay has
 * not published the predecessor of, it publishes whatever of that stream is still unpublished
 * (a previous life's, or a dead instance's), and global positions, which interleave by instance
 * block, never order a stream. A crash between publish and mark republishes: delivery is at
 * least once, and consumers dedupe by `eventId`.
 */
@Injectable()
export class OutboxRelay implements CommitListener {
  private readonly logger = new Logger('OutboxRelay');
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  private sweepDue = false;
  private stopped = true;
  private readonly held: Commit[] = [];
  private unsample: Array<() => void> = [];
  /** streamId → the last stream version this relay published. */
  private readonly published = new Map<string, number>();

  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(MESSAGE_BUS) private readonly bus: MessageBus,
    @Inject(CONFIG) private readonly config: WorkloadServiceConfig,
    @Inject(OUTBOX_LEASE) private readonly lease: OutboxLease,
  ) {}

  start(): void {
    if (!this.config.OUTBOX_RELAY_ENABLED) {
      this.logger.warn('outbox relay disabled by OUTBOX_RELAY_ENABLED=false');
      return;
    }
    this.stopped = false;
    this.unsample = [
      sampled('gauge', 'wcp_outbox_held_commits', 'Commits this instance holds in memory for publishing (bounded; beyond it the sweep publishes them).', [], (add) => add({}, this.held.length)),
      // The store's view, shared by every instance on it: use max(), not sum(), across instances.
      sampled('gauge', 'wcp_outbox_unpublished_commits', `Commits in the event store not yet published to the events topic (counted up to ${UNPUBLISHED_COUNT_LIMIT}).`, [], async (add) =>
        add({}, await this.store.unpublished(UNPUBLISHED_COUNT_LIMIT)),
      ),
    ];
    this.timer = setInterval(() => this.nudge(true), this.config.OUTBOX_POLL_MS);
    this.nudge(true);
  }

  committed(commit: Commit): void {
    if (this.stopped) return;
    this.held.push(commit);
    // Kafka down for long: memory stays bounded, the markers keep what is dropped here.
    if (this.held.length > MAX_HELD) this.held.splice(0, this.held.length - MAX_HELD);
    this.nudge(false);
  }

  nudge(sweep: boolean): void {
    if (this.stopped) return;
    this.sweepDue ||= sweep;
    if (this.running) {
      this.again = true;
      return;
    }
    const sweepNow = this.sweepDue;
    this.sweepDue = false;
    this.running = this.drain(sweepNow)
      .then(() => undefined)
      .catch((error) => this.logger.warn(`publish failed, will retry: ${error instanceof Error ? error.message : error}`))
      .finally(() => {
        this.running = null;
        if (this.again || this.sweepDue) {
          this.again = false;
          this.nudge(false);
        }
      });
  }

  async stop(): Promise<void> {
    for (const remove of this.unsample.splice(0)) remove();
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }

  /** Publishes the held commits, then (`sweep`) the settled unpublished ones if this instance holds the lease; returns how many. */
  async drain(sweep = true): Promise<number> {
    let total = 0;
    while (this.held.length > 0) {
      const commits = this.held.splice(0, SWEEP_BATCH * 5);
      try {
        await this.publish(commits);
      } catch (error) {
        this.held.unshift(...commits);
        throw error;
      }
      total += commits.length;
    }
    if (!sweep) return total;
    for (;;) {
      if (!(await this.lease.held())) return total;
      const commits = await this.store.pending('published', SWEEP_BATCH, 0, this.config.OUTBOX_SWEEP_AFTER_MS);
      if (commits.length === 0) return total;
      await this.publish(commits);
      total += commits.length;
      if (commits.length < SWEEP_BATCH) return total;
    }
  }

  private async publish(candidates: Commit[]): Promise<void> {
    const commits = await this.inStreamOrder(candidates);
    const messages = commits.flatMap((c) => integrationEvents(c)).map((e) => ({ key: e.workloadId, value: e, headers: { 'x-event-id': e.eventId } }));
    if (messages.length > 0) await this.bus.publish(Topics.events, messages);
    await this.store.markDone('published', commits);
    for (const c of commits) {
      const last = c.events.at(-1)?.version ?? 0;
      if (last > (this.published.get(c.streamId) ?? 0)) {
        this.published.delete(c.streamId);
        this.published.set(c.streamId, last);
      }
    }
    while (this.published.size > KNOWN_STREAMS) this.published.delete(this.published.keys().next().value!);
  }

  /**
   * The candidates grouped by stream in stream order, each stream preceded by its still
   * unpublished earlier commits when this relay has not published the one right before.
   */
  private async inStreamOrder(candidates: Commit[]): Promise<Commit[]> {
    const byStream = new Map<string, Commit[]>();
    for (const c of candidates) byStream.set(c.streamId, [...(byStream.get(c.streamId) ?? []), c]);
    const ordered: Commit[] = [];
    for (const [streamId, commits] of byStream) {
      commits.sort((a, b) => (a.events[0]?.version ?? 0) - (b.events[0]?.version ?? 0));
      const first = commits[0].events[0]?.version ?? 1;
      const seen = new Set(commits.map((c) => c.commitId));
      if (first > 1 && this.published.get(streamId) !== first - 1) {
        for (const earlier of await this.store.unpublishedBefore(streamId, first)) if (!seen.has(earlier.commitId)) ordered.push(earlier);
      }
      ordered.push(...commits);
    }
    return ordered;
  }
}

export function integrationEvents(commit: Commit): WorkloadIntegrationEvent[] {
  if (!commit.streamId.startsWith('workload-')) return [];
  const workloadId = commit.streamId.slice('workload-'.length);
  return commit.events.map((e) => {
    const api = toApiEvent(e as unknown as WorkloadEvent);
    return {
      type: 'workload.event',
      schemaVersion: 1,
      eventId: e.eventId,
      workloadId,
      streamVersion: e.version,
      timestamp: e.occurredAt,
      eventType: api.eventType,
      actorId: e.actorId,
      details: api.details,
    };
  });
}
