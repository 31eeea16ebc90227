import { Inject, Injectable } from '@nestjs/common';
import type { Actor, DomainError } from '@wcp/contracts';
import { randomUUID } from 'node:crypto';
import { capacityLimits, CONFIG, WorkloadServiceConfig } from '../../config';
import { AggregateRepository, eventsOnly } from '../../event-store/aggregate.repository';
import { CAPACITY_STREAM, decideRelease, decideReserve, evolveCapacity, initialCapacityState, type CapacityState } from '../domain/capacity-ledger.decider';
import type { CapacityLimits, Holding } from '../domain/runtime-capacity';

const UNLIMITED: CapacityLimits = { maxCpu: null, maxMemory: null, maxReplicas: null };

/**
 * Admission through the capacity stream. Off (no reads, no writes) while the operator sets no
 * limit, the default. Commit ids are fresh per append: idempotency lives in the decider (the
 * same reservation again, or a release of nothing, appends nothing), so a redelivered command
 * decides on what the ledger says now, not on what an undone first attempt once wrote.
 */
@Injectable()
export class CapacityLedger {
  private readonly limits: CapacityLimits;

  constructor(private readonly repository: AggregateRepository, @Inject(CONFIG) config: WorkloadServiceConfig) {
    this.limits = capacityLimits(config);
  }

  get enabled(): boolean {
    return this.limits.maxCpu !== null || this.limits.maxMemory !== null || this.limits.maxReplicas !== null;
  }

  /** Reserves what a workload will hold beside the others; the refusal (403) when it does not fit. */
  async reserve(workloadId: string, holding: Holding, actor: Actor | null, now: string): Promise<DomainError | null> {
    return this.append(workloadId, actor, now, (state) => decideReserve(state, workloadId, holding, this.limits));
  }

  /**
   * Puts a workload's reservation back to what it was before an admission whose own commit did
   * not go through: none (released), or its previous holding, restored without a limit check
   * (it held that capacity a moment ago).
   */
  async restore(workloadId: string, previous: Holding | null, now: string): Promise<void> {
    const error = await this.append(workloadId, null, now, (state) => (previous ? decideReserve(state, workloadId, previous, UNLIMITED) : decideRelease(state, workloadId)));
    if (error) throw new Error(`capacity ledger: restoring ${workloadId} failed: ${error.message}`);
  }

  async release(workloadId: string, now: string): Promise<void> {
    const error = await this.append(workloadId, null, now, (state) => decideRelease(state, workloadId));
    if (error) throw new Error(`capacity ledger: releasing ${workloadId} failed: ${error.message}`);
  }

  async state(): Promise<CapacityState> {
    return this.repository.load(CAPACITY_STREAM, initialCapacityState, evolveCapacity);
  }

  private async append(workloadId: string, actor: Actor | null, now: string, decide: (state: CapacityState) => ReturnType<typeof decideReserve>): Promise<DomainError | null> {
    const outcome = await this.repository.execute({
      streamId: CAPACITY_STREAM,
      initial: initialCapacityState,
      evolve: evolveCapacity,
      commitId: `capacity-${workloadId}-${randomUUID()}`,
      actor,
      now,
      decide: (state) => eventsOnly(decide(state)),
      firstRead: 'fresh',
    });
    return outcome.ok ? null : outcome.error;
  }
}

/**
 * Runs `commit` under a reservation of `holding`: refused (the 403) when it does not fit, and
 * undone when the commit itself fails. Without limits it only runs `commit`.
 */
export async function withReservation<T extends { ok: boolean }>(
  ledger: CapacityLedger,
  request: { workloadId: string; holding: Holding; previous: Holding | null; actor: Actor | null; now: string; alreadyAdmitted: () => Promise<boolean> },
  commit: () => Promise<T>,
): Promise<T | { ok: false; error: DomainError }> {
  // A redelivery of a command admitted before (it committed its first append) completes or answers
  // its first result: it reserved then, and a second look at the ledger could refuse what already runs.
  if (!ledger.enabled || (await request.alreadyAdmitted())) return commit();
  const refusal = await ledger.reserve(request.workloadId, request.holding, request.actor, request.now);
  if (refusal) return { ok: false, error: refusal };
  let outcome: T;
  try {
    outcome = await commit();
  } catch (err) {
    await ledger.restore(request.workloadId, request.previous, request.now);
    throw err;
  }
  if (!outcome.ok) await ledger.restore(request.workloadId, request.previous, request.now);
  return outcome;
}
