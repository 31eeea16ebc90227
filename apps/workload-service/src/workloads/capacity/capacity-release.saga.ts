import { Inject, Injectable, Logger } from '@nestjs/common';
import { CONFIG, WorkloadServiceConfig } from '../../config';
import type { CommitListener } from '../../event-store/commit.pipeline';
import type { Commit, StoredEvent } from '../../event-store/event-store';
import { READ_MODEL_STORE, ReadModelStore } from '../../read-models/read-model-store';
import { staleReservations } from '../domain/capacity-ledger.decider';
import { ACTIVE_STATUSES } from '../domain/workload.decider';
import { WORKLOADS } from '../projections/workload.projection';
import { CapacityLedger } from './capacity-ledger.service';

/** A reservation younger than this is left alone by a reconciliation: its start may be committing right now. */
const RECONCILE_GRACE_MS = 60_000;

/** Events after which a workload holds nothing (docs/resources.md "What a workload holds"). */
function releases(e: StoredEvent): boolean {
  if (e.type === 'workload.stop-requested' || e.type === 'workload.deleted') return true;
  return e.type === 'workload.status-changed' && !ACTIVE_STATUSES.includes((e.data as { to: (typeof ACTIVE_STATUSES)[number] }).to);
}

/**
 * Gives capacity back: at once for the commits this instance makes (a stop, a delete, an error
 * reported by its runtime), and by reconciliation at boot and every RUNTIME_RESYNC_MS for what a
 * crash left behind (a release that never ran, a reservation whose start never committed).
 * Late is safe: a reservation held too long refuses a start, it never admits one too many.
 */
@Injectable()
export class CapacityReleaseSaga implements CommitListener {
  private readonly logger = new Logger('CapacityReleaseSaga');
  private chain: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly ledger: CapacityLedger,
    @Inject(READ_MODEL_STORE) private readonly readModels: ReadModelStore,
    @Inject(CONFIG) private readonly config: WorkloadServiceConfig,
  ) {}

  committed(commit: Commit): void {
    if (!this.ledger.enabled || !commit.streamId.startsWith('workload-') || !commit.events.some(releases)) return;
    const workloadId = commit.streamId.slice('workload-'.length);
    this.enqueue(`release ${workloadId}`, () => this.ledger.release(workloadId, new Date().toISOString()));
  }

  async start(): Promise<void> {
    if (!this.ledger.enabled) return;
    await this.reconcile();
    this.timer = setInterval(() => this.enqueue('reconcile', () => this.reconcile()), this.config.RUNTIME_RESYNC_MS).unref();
  }

  async shutdown(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.chain;
  }

  /** Releases reservations of workloads that hold nothing now. */
  async reconcile(now = Date.now()): Promise<string[]> {
    const state = await this.ledger.state();
    if (state.holdings.size === 0) return [];
    const active = new Set((await this.readModels.find<{ _id: string }>(WORKLOADS, { status: { $in: ACTIVE_STATUSES } })).map((d) => d._id));
    const stale = staleReservations(state, (id) => active.has(id), new Date(now - RECONCILE_GRACE_MS).toISOString());
    for (const workloadId of stale) await this.ledger.release(workloadId, new Date(now).toISOString());
    if (stale.length > 0) this.logger.log(`released the capacity of ${stale.length} workload(s) that hold none: ${stale.join(', ')}`);
    return stale;
  }

  private enqueue(what: string, work: () => Promise<unknown>): void {
    this.chain = this.chain.then(work).then(
      () => undefined,
      (err) => this.logger.warn(`${what} failed (the next reconciliation repairs it): ${(err as Error).message}`),
    );
  }
}
