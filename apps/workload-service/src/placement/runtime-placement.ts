import { ownsKey, PartitionAssignment, partitionOf } from '@wcp/messaging';

/**
 * Which workloads this instance runs: those whose commands it consumes. A workload's commands
 * are keyed by its id, so the member of the command consumer group that owns the key's
 * partition decides for the workload, and the same member runs its replicas, answers for its
 * runtime state and writes what the runtime reports. Kafka gives each partition to one member
 * at a time, so one instance runs a workload's replicas; when the group rebalances (an instance
 * joins, leaves or dies) ownership moves with the partitions and the sagas act on the change.
 *
 * Until the first assignment is known the instance owns nothing: it must not start or stop
 * anything it may not own.
 */
export class RuntimePlacement {
  private assignment: PartitionAssignment | null = null;
  /** Partition → when this instance got it (ISO time): a rollout's deadlines restart from there. */
  private readonly since = new Map<number, string>();
  private readonly listeners = new Set<() => void>();

  constructor(private readonly now: () => string = () => new Date().toISOString()) {}

  /** Called by the command consumer at each (re)assignment of the command topic's partitions. */
  assign(assignment: PartitionAssignment): void {
    const previous = this.assignment;
    this.assignment = { partitions: [...assignment.partitions], partitionCount: assignment.partitionCount };
    if (previous && sameAssignment(previous, assignment)) return;
    const at = this.now();
    // Another partition count maps keys anew: nothing is kept then.
    if (previous?.partitionCount !== assignment.partitionCount) this.since.clear();
    for (const p of [...this.since.keys()]) if (!assignment.partitions.includes(p)) this.since.delete(p);
    for (const p of assignment.partitions) if (!this.since.has(p)) this.since.set(p, at);
    for (const listener of this.listeners) listener();
  }

  /** Since when this instance has owned the workload (ISO time), or null when it does not. */
  ownedSince(workloadId: string): string | null {
    if (!this.assignment || !this.owns(workloadId)) return null;
    return this.since.get(partitionOf(workloadId, this.assignment.partitionCount)) ?? null;
  }

  owns(workloadId: string): boolean {
    return this.assignment !== null && ownsKey(this.assignment, workloadId);
  }

  /** What this instance owns, for /health and the placement directory; null before the first assignment. */
  current(): PartitionAssignment | null {
    return this.assignment;
  }

  /** Called after each change of what this instance owns; returns the unsubscribe function. Must not throw. */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

export function sameAssignment(a: PartitionAssignment, b: PartitionAssignment): boolean {
  return a.partitionCount === b.partitionCount && a.partitions.length === b.partitions.length && a.partitions.every((p, i) => p === b.partitions[i]);
}
