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

export const RuntimeGroup = z
  .strictObject({
    name: z.string().min(1).max(63),
    replicaCount: z.int().min(1).max(100).nullish(),
    autoscaling: Autoscaling.nullish(),
    resourceBundles: z.array(z.string().max(64)).max(16).default([]),
    containers: z.array(z.strictObject({ name: z.string().min(1).max(63), resourceAllocation: ResourceAllocation })).min(1).max(16),
  })
  .superRefine((g, ctx) => {
    if (g.autoscaling?.enabled && g.replicaCount != null) {
      ctx.addIssue({ code: 'custom', path: ['replicaCount'], message: 'replicaCount is exclusive with autoscaling.enabled=true' });
    }
  });

export const Runtime = z.strictObject({ containerGroups: z.array(RuntimeGroup).min(1).max(8) });
export type RuntimeInput = z.input<typeof Runtime>;

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

export function normalizeRuntime(parsed: z.output<typeof Runtime>): RuntimeSettings {
  return {
    containerGroups: parsed.containerGroups.map((g) => ({
      name: g.name,
      replicaCount: g.autoscaling?.enabled ? null : (g.replicaCount ?? 1),
      autoscaling: g.autoscaling
        ? { ...g.autoscaling, cooldownPeriodMinutes: g.autoscaling.cooldownPeriodMinutes ?? null }
        : null,
      resourceBundles: g.resourceBundles,
      containers: g.containers.map((c) => ({
        name: c.name,
        resourceAllocation: { cpu: c.resourceAllocation.cpu, memory: c.resourceAllocation.memory, gpu: c.resourceAllocation.gpu ?? null },
      })),
    })),
  };
}
