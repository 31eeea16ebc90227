import type { Container, RuntimeSettings } from '@wcp/contracts';

/** What the runtime needs of an artifact to run one of its groups. */
export interface ArtifactSpecOf {
  spec: { containerGroups: Array<{ name: string; containers: Container[] }> };
}

/** The enabled autoscaling settings of a runtime's (first, the one the local runtime runs) group, or null. */
export function autoscalingOf(runtime: RuntimeSettings): NonNullable<RuntimeSettings['containerGroups'][number]['autoscaling']> | null {
  const a = runtime.containerGroups[0]?.autoscaling;
  return a?.enabled ? a : null;
}

/**
 * Replicas a runtime starts with: the fixed count, or the autoscaling floor, at least one (a
 * proton starts at one and the autoscaler takes it to zero after a stable window without requests).
 */
export function replicasOf(runtime: RuntimeSettings): number {
  const group = runtime.containerGroups[0];
  return group?.replicaCount ?? Math.max(1, group?.autoscaling?.minReplicaCount ?? 1);
}

/**
 * The proton spec of a runtime on an artifact: its first container group (the local runtime
 * runs one group per proton), with `replicas` unless the caller overrides the count.
 */
export function protonSpecOf(
  artifact: ArtifactSpecOf | null,
  runtime: RuntimeSettings,
  ids: { protonId: string; workloadId: string },
  replicas = replicasOf(runtime),
): { protonId: string; workloadId: string; replicas: number; containers: Container[]; resources?: { cpu: number; memoryBytes: number } } | null {
  const group = runtime.containerGroups[0];
  const specGroup = artifact?.spec.containerGroups.find((g) => g.name === group?.name) ?? artifact?.spec.containerGroups[0];
  if (!group || !specGroup) return null;
  // The local runtime runs the primary container only, so its allocation is the replica's.
  const primary = specGroup.containers.find((c) => c.primary) ?? specGroup.containers[0];
  const allocation = group.containers.find((c) => c.name === primary?.name)?.resourceAllocation;
  return { ...ids, replicas, containers: specGroup.containers, ...(allocation ? { resources: { cpu: allocation.cpu, memoryBytes: allocation.memory } } : {}) };
}

/**
 * The candidate's count when done: its fixed count, or — autoscaled — the previous proton's
 * current count within the candidate's bounds (at least one), so a rollout under load does not
 * drop to the floor and wait for the autoscaler to climb back (docs/autoscaling.md).
 */
export function initialReplicasOf(runtime: RuntimeSettings, previousReplicas: number): number {
  const autoscaling = autoscalingOf(runtime);
  if (!autoscaling) return replicasOf(runtime);
  return Math.min(Math.max(1, autoscaling.maxReplicaCount), Math.max(replicasOf(runtime), previousReplicas));
}
