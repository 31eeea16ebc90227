import { Inject, Injectable, Logger } from '@nestjs/common';
import { CONFIG, WorkloadServiceConfig } from '../../config';
import type { CommitListener } from '../../event-store/commit.pipeline';
import type { Commit, StoredEvent } from '../../event-store/event-store';
import { READ_MODEL_STORE, ReadModelStore } from '../../read-models/read-model-store';
import type { RuntimeSettings } from '@wcp/contracts';
import { staleReservations } from '../domain/capacity-ledger.decider';
import { holdingOf } from '../domain/runtime-capacity';
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

  /**
   * Releases reservations of workloads that hold nothing now, and records what active workloads
   * without one hold (they started before the limits were set, or before this version): the
   * ledger then counts everything that runs.
   */
  async reconcile(now = Date.now()): Promise<{ released: string[]; recorded: string[] }> {
    const state = await this.ledger.state();
    const active = new Map((await this.readModels.find<{ _id: string; runtime: RuntimeSettings }>(WORKLOADS, { status: { $in: ACTIVE_STATUSES } })).map((d) => [d._id, d.runtime]));
    const at = new Date(now).toISOString();
    const released = staleReservations(state, (id) => active.has(id), new Date(now - RECONCILE_GRACE_MS).toISOString());
    for (const workloadId of released) await this.ledger.release(workloadId, at);
    const recorded = [...active.keys()].filter((id) => !state.holdings.has(id));
    for (const workloadId of recorded) await this.ledger.restore(workloadId, holdingOf(active.get(workloadId)!), at);
    if (released.length > 0) this.logger.log(`released the capacity of ${released.length} workload(s) that hold none: ${released.join(', ')}`);
    if (recorded.length > 0) this.logger.log(`recorded the capacity of ${recorded.length} running workload(s) the ledger did not count: ${recorded.join(', ')}`);
    return { released, recorded };
  }

  private enqueue(what: string, work: () => Promise<unknown>): void {
    this.chain = this.chain.then(work).then(
      () => undefined,
      (err) => this.logger.warn(`${what} failed (the next reconciliation repairs it): ${(err as Error).message}`),
    );
  }
}
