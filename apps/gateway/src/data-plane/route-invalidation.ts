import { Inject, Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { Topics, WorkloadIntegrationEvent } from '@wcp/contracts';
import { MESSAGE_BUS, MessageBus, Subscription } from '@wcp/messaging';
import { randomUUID } from 'node:crypto';
import { REPLICA_ROUTER, ReplicaRouter } from './replica-router';
import { StandbyHolder } from './standby-holder';

/**
 * Every gateway instance reads the workload events (its own consumer group, from now on) and
 * drops the cached routes of a workload at each of its events: a stop, delete, replacement or
 * replica change made through another instance reaches this one's data plane in milliseconds
 * instead of after DATA_PLANE_ROUTE_CACHE_MS. Events are rare next to requests, so any event
 * will do; the next request of that workload asks the control plane once, and requests held for
 * it (scale from zero) ask at once.
 */
@Injectable()
export class RouteInvalidation implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('RouteInvalidation');
  private subscription: Promise<Subscription | null> = Promise.resolve(null);

  constructor(
    @Inject(MESSAGE_BUS) private readonly bus: MessageBus,
    @Inject(REPLICA_ROUTER) private readonly router: ReplicaRouter,
    private readonly holder: StandbyHolder,
  ) {}

  onModuleInit(): void {
    // Not awaited: joining a consumer group takes seconds, and the TTL covers the meantime.
    this.subscription = this.bus
      .subscribe({
        topic: Topics.events,
        groupId: `gateway-routes-${randomUUID()}`,
        fromBeginning: false,
        handleBatch: async (messages) =>
          messages.map((m) => {
            const workloadId = (m.value as Partial<WorkloadIntegrationEvent> | null)?.workloadId;
            if (typeof workloadId === 'string') {
              this.router.forget(workloadId);
              // Requests held for it wake now: a replica may be ready, or it was stopped or deleted.
              this.holder.changed(workloadId);
            }
            return { kind: 'ok' as const };
          }),
      })
      .catch((error) => {
        this.logger.warn(`not following workload events (route cache falls back to its TTL): ${error instanceof Error ? error.message : error}`);
        return null;
      });
  }

  async onApplicationShutdown(): Promise<void> {
    await (await this.subscription)?.stop();
  }
}
