import { domainError, type DomainError, type RuntimeSettings } from '@wcp/contracts';

/**
 * Admission against the operator's runtime capacity (RUNTIME_MAX_CPU, RUNTIME_MAX_MEMORY,
 * RUNTIME_MAX_REPLICAS), like a Kubernetes ResourceQuota: what a workload holds is its
 * replicas × the allocation of one replica (every container of the group, summed, as a pod's
 * requests are). An autoscaled group holds its floor, minReplicaCount but at least 1.
 */

export interface Holding {
  cpu: number;
  /** bytes */
  memory: number;
  replicas: number;
}

/** null in a dimension: unlimited. */
export interface CapacityLimits {
  maxCpu: number | null;
  maxMemory: number | null;
  maxReplicas: number | null;
}

/** One replica's allocation: the group's containers summed. */
export function perReplica(runtime: RuntimeSettings): { cpu: number; memory: number } {
  const containers = runtime.containerGroups[0]?.containers ?? [];
  return {
    cpu: containers.reduce((sum, c) => sum + c.resourceAllocation.cpu, 0),
    memory: containers.reduce((sum, c) => sum + c.resourceAllocation.memory, 0),
  };
}

/** Replicas a runtime holds: the fixed count, or the autoscaling floor (at least 1). */
export function heldReplicas(runtime: RuntimeSettings): number {
  const group = runtime.containerGroups[0];
  return group?.replicaCount ?? Math.max(1, group?.autoscaling?.minReplicaCount ?? 1);
}

export function holdingOf(runtime: RuntimeSettings, replicas = heldReplicas(runtime)): Holding {
  const one = perReplica(runtime);
  return { cpu: one.cpu * replicas, memory: one.memory * replicas, replicas };
}

export function sumHoldings(holdings: Iterable<Holding>): Holding {
  const total: Holding = { cpu: 0, memory: 0, replicas: 0 };
  for (const h of holdings) {
    total.cpu += h.cpu;
    total.memory += h.memory;
    total.replicas += h.replicas;
  }
  return total;
}

// CPU is fractional (0.25 + 0.5 …): compare in millicores so float sums do not refuse an exact fit.
const milli = (cpu: number) => Math.round(cpu * 1000);

/** Why `request` does not fit beside `held` (what running workloads hold), or null when it fits. */
export function runtimeCapacityRefusal(request: Holding, held: Holding, limits: CapacityLimits): DomainError | null {
  const over: string[] = [];
  if (limits.maxCpu !== null && milli(held.cpu) + milli(request.cpu) > milli(limits.maxCpu)) {
    over.push(`cpu ${request.cpu} requested, ${round(held.cpu)} of ${limits.maxCpu} in use`);
  }
  if (limits.maxMemory !== null && held.memory + request.memory > limits.maxMemory) {
    over.push(`memory ${request.memory} bytes requested, ${held.memory} of ${limits.maxMemory} bytes in use`);
  }
  if (limits.maxReplicas !== null && held.replicas + request.replicas > limits.maxReplicas) {
    over.push(`${request.replicas} replicas requested, ${held.replicas} of ${limits.maxReplicas} in use`);
  }
  if (over.length === 0) return null;
  return domainError('forbidden', 'RUNTIME_CAPACITY_EXCEEDED', `This workload would exceed the runtime's capacity: ${over.join('; ')}.`);
}

/**
 * For the autoscaler: whether one more replica of `runtime` fits beside `held` (which already
 * counts this workload's floor). Advisory, it reserves nothing: a scale-up past what admission
 * counted is the operator's headroom, not a start.
 */
export function fitsOneMoreReplica(runtime: RuntimeSettings, held: Holding, limits: CapacityLimits): boolean {
  return runtimeCapacityRefusal(holdingOf(runtime, 1), held, limits) === null;
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}
