import { Inject, Injectable, Logger } from '@nestjs/common';
import { Topics, WorkloadIntegrationEvent } from '@wcp/contracts';
import { MESSAGE_BUS, MessageBus } from '@wcp/messaging';
import { CONFIG, WorkloadServiceConfig } from '../config';
import type { CommitListener } from '../event-store/commit.pipeline';
import { Commit, EVENT_STORE, EventStore } from '../event-store/event-store';
import { OUTBOX_LEASE, OutboxLease } from './outbox.lease';
import { toApiEvent } from '../workloads/domain/workload-event-types';
import type { WorkloadEvent } from '../workloads/domain/workload.events';

/**
 * Transactional-outbox relay: the event store is the outbox. Commits not yet published are
 * published in position order (so per workload in stream order) and then marked. A crash
 * between publish and mark republishes: delivery is at least once, and consumers dedupe by
 * `eventId`. Runs on a timer and whenever an append nudges it; with several instances, only
 * the one holding the outbox lease publishes (the others' timers take over when it dies).
 */
@Injectable()
export class OutboxRelay implements CommitListener {
  private readonly logger = new Logger('OutboxRelay');
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  private stopped = true;

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
    this.timer = setInterval(() => this.nudge(), this.config.OUTBOX_POLL_MS);
    this.nudge();
  }

  committed(): void {
    this.nudge();
  }

  nudge(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.drain()
      .then(() => undefined)
      .catch((error) => this.logger.warn(`publish failed, will retry: ${error instanceof Error ? error.message : error}`))
      .finally(() => {
        this.running = null;
        if (this.again) {
          this.again = false;
          this.nudge();
        }
      });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }

  /** Publishes everything pending, if this instance holds the lease; returns how many commits it handled. */
  async drain(): Promise<number> {
    let total = 0;
    for (;;) {
      if (!(await this.lease.held())) return total;
      const commits = await this.store.pending('published', 200);
      if (commits.length === 0) return total;
      const messages = commits.flatMap((c) => integrationEvents(c)).map((e) => ({ key: e.workloadId, value: e, headers: { 'x-event-id': e.eventId } }));
      await this.bus.publish(Topics.events, messages);
      await this.store.markDone('published', commits);
      total += commits.length;
    }
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
