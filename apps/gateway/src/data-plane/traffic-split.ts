import type { Replica, ReplicaGroup, ReplicaRoutes } from './replica-router';
import { RoundRobin } from './round-robin';

/**
 * Whether request number `n` (0-based, counted per workload) goes to the candidate when it
 * takes `percent` % (0..100) of the traffic. Bresenham's rule: of requests `a..b-1`, exactly
 * `floor(b·p/100) − floor(a·p/100)` go to the candidate, so every window is within one request
 * of the exact share, spread evenly, and a share that changes mid-stream (the next canary step)
 * holds from where it changed. Deterministic: statistics and rollout analysis see the share
 * they asked for, not a sample of it.
 */
export function isCandidateTurn(n: number, percent: number): boolean {
  return Math.floor(((n + 1) * percent) / 100) > Math.floor((n * percent) / 100);
}

/**
 * The group that serves request `n`: the split's choice, or the other group when the chosen
 * one has no ready replica; null when neither has one.
 */
export function chooseGroup<G extends { replicas: readonly unknown[] }>(n: number, stable: G, candidate: (G & { percent: number }) | null): G | null {
  if (!candidate) return stable.replicas.length > 0 ? stable : null;
  const toCandidate = isCandidateTurn(n, candidate.percent);
  const chosen = toCandidate ? candidate : stable;
  const other = toCandidate ? stable : candidate;
  if (chosen.replicas.length > 0) return chosen;
  return other.replicas.length > 0 ? other : null;
}

/**
 * Where a request goes after `failed` refused its connection: another replica of the same
 * group, else the other group, else `failed` again (a lone replica gets its second chance).
 */
export function retryPool(routes: ReplicaRoutes, failed: Replica): { group: ReplicaGroup; replicas: readonly Replica[] } {
  const inCandidate = routes.candidate !== null && routes.candidate.replicas.includes(failed);
  const group = inCandidate ? routes.candidate! : routes.stable;
  const rest = group.replicas.filter((r) => r !== failed);
  if (rest.length > 0) return { group, replicas: rest };
  const other = inCandidate ? routes.stable : routes.candidate;
  if (other && other.replicas.length > 0) return { group: other, replicas: other.replicas };
  return { group, replicas: [failed] };
}

/** Wraps the per-workload request counter well inside exact float arithmetic of `n · percent`. */
const TURN_WRAP = 1e12;

/**
 * Picks the replica of each request: the traffic split between the stable and candidate
 * groups (a counter per workload), then round robin per (workload, proton) within the group.
 */
export class ReplicaSelector {
  private readonly rotation: RoundRobin;
  private readonly turns = new Map<string, number>();

  constructor(private readonly maxKeys = 10_000) {
    this.rotation = new RoundRobin(maxKeys);
  }

  /** Throws only for a table without any replica, which the router never returns. */
  pick(routes: ReplicaRoutes): Replica {
    const { stable, candidate } = routes;
    if (!candidate) return this.rotation.pick(stable.rotationKey, stable.replicas);
    const group = chooseGroup(this.nextTurn(routes.workloadId), stable, candidate);
    if (!group) throw new Error(`route table of workload ${routes.workloadId} has no replica`);
    return this.rotation.pick(group.rotationKey, group.replicas);
  }

  retry(routes: ReplicaRoutes, failed: Replica): Replica {
    const { group, replicas } = retryPool(routes, failed);
    return this.rotation.pick(group.rotationKey, replicas);
  }

  private nextTurn(workloadId: string): number {
    let n = this.turns.get(workloadId);
    if (n === undefined) {
      if (this.turns.size >= this.maxKeys) this.turns.clear();
      n = 0;
    }
    this.turns.set(workloadId, (n + 1) % TURN_WRAP);
    return n;
  }
}
