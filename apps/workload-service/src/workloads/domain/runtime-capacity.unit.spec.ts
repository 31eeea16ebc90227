import type { RuntimeSettings } from '@wcp/contracts';
import { fitsOneMoreReplica, holdingOf, runtimeCapacityRefusal, sumHoldings, type CapacityLimits } from './runtime-capacity';

const Mi = 1024 ** 2;
function runtime(over: { replicaCount?: number | null; min?: number; containers?: Array<{ cpu: number; memory: number }> } = {}): RuntimeSettings {
  const autoscaling = over.min === undefined ? null : { enabled: true, minReplicaCount: over.min, maxReplicaCount: 5, policies: [{ scalingMetric: 'httpRequestsConcurrency' as const, target: 2 }], cooldownPeriodMinutes: null };
  return {
    containerGroups: [
      {
        name: 'default',
        replicaCount: over.replicaCount === undefined ? (autoscaling ? null : 1) : over.replicaCount,
        autoscaling,
        resourceBundles: [],
        containers: (over.containers ?? [{ cpu: 1, memory: 512 * Mi }]).map((a, i) => ({ name: `c${i}`, resourceAllocation: { ...a, gpu: null } })),
      },
    ],
  };
}
const unlimited: CapacityLimits = { maxCpu: null, maxMemory: null, maxReplicas: null };

describe('holdingOf', () => {
  it('is replicas × the containers of one replica, summed', () => {
    expect(holdingOf(runtime({ replicaCount: 3, containers: [{ cpu: 0.5, memory: 256 * Mi }, { cpu: 0.25, memory: 64 * Mi }] }))).toEqual({ cpu: 2.25, memory: 960 * Mi, replicas: 3 });
  });

  it('counts an autoscaled group at its floor, and at least one replica', () => {
    expect(holdingOf(runtime({ min: 2 })).replicas).toBe(2);
    expect(holdingOf(runtime({ min: 0 })).replicas).toBe(1);
  });
});

describe('runtimeCapacityRefusal', () => {
  const held = sumHoldings([holdingOf(runtime({ replicaCount: 2 })), holdingOf(runtime({ containers: [{ cpu: 0.25, memory: 128 * Mi }] }))]);

  it('lets everything through when unlimited', () => {
    expect(runtimeCapacityRefusal(holdingOf(runtime({ replicaCount: 100 })), held, unlimited)).toBeNull();
  });

  it('admits an exact fit of fractional cpus (no float drift)', () => {
    // held: 2.25 cpu; 0.1 + 0.2 + 2.25 ≠ 2.55 in floating point.
    const request = holdingOf(runtime({ containers: [{ cpu: 0.1, memory: Mi }, { cpu: 0.2, memory: Mi }] }));
    expect(runtimeCapacityRefusal(request, held, { ...unlimited, maxCpu: 2.55 })).toBeNull();
    expect(runtimeCapacityRefusal(request, held, { ...unlimited, maxCpu: 2.549 })).toMatchObject({ kind: 'forbidden', code: 'RUNTIME_CAPACITY_EXCEEDED' });
  });

  it('names every dimension that would be exceeded', () => {
    const refusal = runtimeCapacityRefusal(holdingOf(runtime({ replicaCount: 2 })), held, { maxCpu: 4, maxMemory: 2048 * Mi, maxReplicas: 5 });
    expect(refusal).toMatchObject({ kind: 'forbidden', code: 'RUNTIME_CAPACITY_EXCEEDED' });
    expect(refusal?.message).toContain('cpu 2 requested, 2.25 of 4 in use');
    expect(refusal?.message).toContain(`memory ${1024 * Mi} bytes requested, ${1152 * Mi} of ${2048 * Mi} bytes in use`);
    expect(refusal?.message).not.toContain('replicas requested');
  });

  it('refuses past the replica count alone', () => {
    expect(runtimeCapacityRefusal(holdingOf(runtime({ replicaCount: 2 })), held, { ...unlimited, maxReplicas: 4 })?.message).toContain('2 replicas requested, 3 of 4 in use');
    expect(runtimeCapacityRefusal(holdingOf(runtime({ replicaCount: 1 })), held, { ...unlimited, maxReplicas: 4 })).toBeNull();
  });
});

describe('fitsOneMoreReplica', () => {
  it('asks whether one more replica of the runtime fits beside what is held', () => {
    const held = holdingOf(runtime({ min: 1 }));
    expect(fitsOneMoreReplica(runtime({ min: 1 }), held, { ...unlimited, maxMemory: 1024 * Mi })).toBe(true);
    expect(fitsOneMoreReplica(runtime({ min: 1 }), held, { ...unlimited, maxMemory: 1023 * Mi })).toBe(false);
  });
});
