import type { DomainError } from '@wcp/contracts';
import { runtimeCapacityRefusal, sumHoldings, type CapacityLimits, type Holding } from './runtime-capacity';

/**
 * The runtime's capacity as one stream (`runtime-capacity`): what each active workload holds.
 * Admission appends a reservation here, with optimistic concurrency, before the workload's own
 * start: two starts racing for the last capacity, on any partitions or instances, are ordered
 * by the event store and the second one is decided against the first (docs/resources.md).
 */

export const CAPACITY_STREAM = 'runtime-capacity';

export type CapacityEvent =
  | { type: 'capacity.reserved'; schemaVersion: 1; data: { workloadId: string; holding: Holding } }
  | { type: 'capacity.released'; schemaVersion: 1; data: { workloadId: string } };

export interface CapacityState {
  version: number;
  /** workloadId → what it holds and since when (the reservation's time). */
  holdings: ReadonlyMap<string, { holding: Holding; since: string }>;
}

export const initialCapacityState: CapacityState = { version: 0, holdings: new Map() };

export function evolveCapacity(state: CapacityState, event: CapacityEvent & { occurredAt?: string }): CapacityState {
  const holdings = new Map(state.holdings);
  if (event.type === 'capacity.reserved') holdings.set(event.data.workloadId, { holding: event.data.holding, since: event.occurredAt ?? '' });
  else holdings.delete(event.data.workloadId);
  return { version: state.version + 1, holdings };
}

/**
 * Reserve `holding` for a workload beside what the others hold. A reservation replaces the
 * workload's own (a restart, a new runtime), never adds to it; the same reservation again is a
 * no-op (a redelivered command).
 */
export function decideReserve(state: CapacityState, workloadId: string, holding: Holding, limits: CapacityLimits): CapacityEvent[] | DomainError {
  const own = state.holdings.get(workloadId)?.holding;
  if (own && own.cpu === holding.cpu && own.memory === holding.memory && own.replicas === holding.replicas) return [];
  const others = sumHoldings([...state.holdings].filter(([id]) => id !== workloadId).map(([, h]) => h.holding));
  const refusal = runtimeCapacityRefusal(holding, others, limits);
  if (refusal) return refusal;
  return [{ type: 'capacity.reserved', schemaVersion: 1, data: { workloadId, holding } }];
}

export function decideRelease(state: CapacityState, workloadId: string): CapacityEvent[] {
  return state.holdings.has(workloadId) ? [{ type: 'capacity.released', schemaVersion: 1, data: { workloadId } }] : [];
}

/**
 * Reservations to release at a reconciliation: held by workloads that hold nothing now (stopped,
 * errored, deleted, or never started after a crash between reservation and start), reserved
 * before `olderThan` — a younger one may belong to a start whose own commit is on its way.
 */
export function staleReservations(state: CapacityState, isActive: (workloadId: string) => boolean, olderThan: string): string[] {
  return [...state.holdings].filter(([id, h]) => h.since < olderThan && !isActive(id)).map(([id]) => id);
}
