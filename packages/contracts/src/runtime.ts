import { z } from 'zod';

const UNITS: Record<string, number> = {
  '': 1, B: 1,
  KB: 1e3, MB: 1e6, GB: 1e9, TB: 1e12,
  Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, Ti: 1024 ** 4,
};

/** Memory as bytes: an integer, or a string with a decimal (KB, MB, GB) or binary (Ki, Mi, Gi) unit. */
export const Memory = z.union([z.int().min(1), z.string()]).transform((value, ctx) => {
  if (typeof value === 'number') return value;
  const match = /^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*$/.exec(value);
  const factor = match ? UNITS[match[2]] : undefined;
  if (!match || factor === undefined) {
    ctx.addIssue({ code: 'custom', message: 'memory must be bytes or a number with a unit: KB, MB, GB, Ki, Mi, Gi' });
    return z.NEVER;
  }
  const bytes = Math.round(Number(match[1]) * factor);
  if (bytes < 1 || !Number.isSafeInteger(bytes)) {
    ctx.addIssue({ code: 'custom', message: 'memory is out of range' });
    return z.NEVER;
  }
  return bytes;
});

export const ScalingPolicy = z.strictObject({
  scalingMetric: z.enum(['cpuAverageUtilization', 'httpRequestsConcurrency']),
  target: z.number().positive(),
});

export const Autoscaling = z
  .strictObject({
    enabled: z.boolean(),
    minReplicaCount: z.int().min(0).max(100),
    maxReplicaCount: z.int().min(1).max(100),
    policies: z.array(ScalingPolicy).min(1).max(4),
    cooldownPeriodMinutes: z.number().min(0).max(1440).nullish(),
  })
  .superRefine((a, ctx) => {
    if (a.minReplicaCount > a.maxReplicaCount) {
      ctx.addIssue({ code: 'custom', path: ['minReplicaCount'], message: 'minReplicaCount must not exceed maxReplicaCount' });
    }
    if (a.minReplicaCount < 1 && a.policies.some((p) => p.scalingMetric === 'cpuAverageUtilization')) {
      ctx.addIssue({ code: 'custom', path: ['minReplicaCount'], message: 'cpuAverageUtilization needs minReplicaCount >= 1; only httpRequestsConcurrency scales to zero' });
    }
  });

export const ResourceAllocation = z.strictObject({
  cpu: z.number().positive().max(256),
  memory: Memory,
  gpu: z.int().min(0).max(16).nullish(),
});

/** A container of the group, named after the artifact's; without an allocation it takes the group's bundle or the defaults. */
export const ContainerOverride = z.strictObject({ name: z.string().min(1).max(63), resourceAllocation: ResourceAllocation.nullish() });

/**
 * One container group as clients send it: partial runtimes are normal (spec §2), so only what
 * is given is checked here; the workload service fills the rest from the artifact and the
 * operator's bundle catalog (`resolveRuntime`).
 */
export const RuntimeGroup = z
  .strictObject({
    name: z.string().min(1).max(63).default('default'),
    replicaCount: z.int().min(1).max(100).nullish(),
    autoscaling: Autoscaling.nullish(),
    resourceBundles: z.array(z.string().min(1).max(64)).max(1, 'at most one resource bundle per container group').default([]),
    containers: z.array(ContainerOverride).max(16).default([]),
  })
  .superRefine((g, ctx) => {
    if (g.autoscaling?.enabled && g.replicaCount != null) {
      ctx.addIssue({ code: 'custom', path: ['replicaCount'], message: 'replicaCount is exclusive with autoscaling.enabled=true' });
    }
    duplicateNames(g.containers, ctx, 'containers');
  });

export const Runtime = z
  .strictObject({ containerGroups: z.array(RuntimeGroup).min(1).max(8) })
  .superRefine((r, ctx) => duplicateNames(r.containerGroups, ctx, 'containerGroups'));
export type RuntimeInput = z.input<typeof Runtime>;
export type ParsedRuntime = z.output<typeof Runtime>;

function duplicateNames(items: Array<{ name: string }>, ctx: z.RefinementCtx, path: string): void {
  const seen = new Set<string>();
  items.forEach((item, i) => {
    if (seen.has(item.name)) ctx.addIssue({ code: 'custom', path: [path, i, 'name'], message: `duplicate name '${item.name}'` });
    seen.add(item.name);
  });
}

/** The normalized runtime as stored and returned: memory in bytes, nulls explicit. */
export interface RuntimeSettings {
  containerGroups: Array<{
    name: string;
    replicaCount: number | null;
    autoscaling: null | {
      enabled: boolean;
      minReplicaCount: number;
      maxReplicaCount: number;
      policies: Array<{ scalingMetric: 'cpuAverageUtilization' | 'httpRequestsConcurrency'; target: number }>;
      cooldownPeriodMinutes: number | null;
    };
    resourceBundles: string[];
    containers: Array<{ name: string; resourceAllocation: { cpu: number; memory: number; gpu: number | null } }>;
  }>;
}

export const DEFAULT_CPU = 1;
export const DEFAULT_MEMORY_BYTES = 536870912;

/** A resource bundle of the operator's catalog: what one bundle id allocates to a container. */
export interface ResourceBundle {
  cpu: number;
  memory: number;
  gpu: number | null;
}

/** The bundle catalog when the operator configures none (RESOURCE_BUNDLES). */
export const DEFAULT_RESOURCE_BUNDLES: Record<string, ResourceBundle> = {
  'cpu.nano': { cpu: 0.25, memory: 256 * 1024 ** 2, gpu: null },
  'cpu.micro': { cpu: 0.5, memory: 512 * 1024 ** 2, gpu: null },
  'cpu.small': { cpu: 1, memory: 1024 ** 3, gpu: null },
  'cpu.medium': { cpu: 2, memory: 4 * 1024 ** 3, gpu: null },
  'cpu.large': { cpu: 4, memory: 8 * 1024 ** 3, gpu: null },
  'cpu.xlarge': { cpu: 8, memory: 16 * 1024 ** 3, gpu: null },
};
