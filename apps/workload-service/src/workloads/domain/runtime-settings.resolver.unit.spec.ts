import { DEFAULT_RESOURCE_BUNDLES, Runtime, StartReplacementBody, type RuntimeInput } from '@wcp/contracts';
import { resolveRuntime, type ArtifactGroups } from './runtime-settings.resolver';

const artifact: ArtifactGroups = {
  containerGroups: [
    {
      name: 'default',
      containers: [
        { name: 'sidecar', primary: false },
        { name: 'main', primary: true },
      ],
    },
  ],
};
const resolve = (runtime: RuntimeInput | undefined) => resolveRuntime(runtime === undefined ? undefined : Runtime.parse(runtime), artifact, DEFAULT_RESOURCE_BUNDLES);
const DEFAULT_ALLOCATION = { cpu: 1, memory: 536870912, gpu: null };

describe('resolveRuntime (partial runtimes, spec §2)', () => {
  it('fills everything when the runtime is omitted: one replica, the primary container with the default allocation', () => {
    expect(resolve(undefined)).toEqual({
      containerGroups: [{ name: 'default', replicaCount: 1, autoscaling: null, resourceBundles: [], containers: [{ name: 'main', resourceAllocation: DEFAULT_ALLOCATION }] }],
    });
  });

  it('takes a group with only replicaCount, as the vendor CLI sends it, and defaults the group name', () => {
    expect(resolve({ containerGroups: [{ name: 'default', replicaCount: 3 }] })).toMatchObject({ containerGroups: [{ replicaCount: 3, containers: [{ name: 'main', resourceAllocation: DEFAULT_ALLOCATION }] }] });
    expect(resolve({ containerGroups: [{ replicaCount: 2 }] })).toMatchObject({ containerGroups: [{ name: 'default', replicaCount: 2 }] });
  });

  it('resolves a bundle for containers without their own allocation; an explicit allocation wins', () => {
    const resolved = resolve({
      containerGroups: [{ resourceBundles: ['cpu.medium'], containers: [{ name: 'sidecar', resourceAllocation: { cpu: 0.5, memory: '64Mi' } }] }],
    });
    expect(resolved).toMatchObject({
      containerGroups: [
        {
          resourceBundles: ['cpu.medium'],
          containers: [
            { name: 'sidecar', resourceAllocation: { cpu: 0.5, memory: 64 * 1024 ** 2, gpu: null } },
            { name: 'main', resourceAllocation: { cpu: 2, memory: 4 * 1024 ** 3, gpu: null } },
          ],
        },
      ],
    });
  });

  it('accepts a container override without resourceAllocation', () => {
    expect(resolve({ containerGroups: [{ containers: [{ name: 'main' }] }] })).toMatchObject({ containerGroups: [{ containers: [{ name: 'main', resourceAllocation: DEFAULT_ALLOCATION }] }] });
  });

  it('refuses unknown groups, containers and bundles with the location of the mistake', () => {
    expect(resolve({ containerGroups: [{ name: 'gpu' }] })).toMatchObject({ kind: 'validation', code: 'RUNTIME_GROUP_UNKNOWN', loc: ['body', 'runtime', 'containerGroups', 0, 'name'] });
    expect(resolve({ containerGroups: [{ containers: [{ name: 'nope' }] }] })).toMatchObject({
      code: 'RUNTIME_CONTAINER_UNKNOWN',
      loc: ['body', 'runtime', 'containerGroups', 0, 'containers', 0, 'name'],
    });
    const unknownBundle = resolve({ containerGroups: [{ resourceBundles: ['cpu.huge'] }] });
    expect(unknownBundle).toMatchObject({ code: 'RESOURCE_BUNDLE_UNKNOWN', loc: ['body', 'runtime', 'containerGroups', 0, 'resourceBundles', 0] });
    expect('message' in unknownBundle && unknownBundle.message).toContain('cpu.small');
  });

  it('leaves replicaCount null under enabled autoscaling', () => {
    const resolved = resolve({ containerGroups: [{ autoscaling: { enabled: true, minReplicaCount: 1, maxReplicaCount: 3, policies: [{ scalingMetric: 'httpRequestsConcurrency', target: 4 }] } }] });
    expect(resolved).toMatchObject({ containerGroups: [{ replicaCount: null, autoscaling: { cooldownPeriodMinutes: null } }] });
  });

  it('refuses a GPU the runtime cannot give, at the field or the bundle it came from; 0 and null are no GPU', () => {
    expect(resolve({ containerGroups: [{ containers: [{ name: 'sidecar', resourceAllocation: { cpu: 1, memory: '1Gi', gpu: 0 } }, { name: 'main', resourceAllocation: { cpu: 1, memory: '1Gi', gpu: 1 } }] }] })).toEqual({
      kind: 'validation',
      code: 'RUNTIME_GPU_UNAVAILABLE',
      message: "the runtime has no GPUs to assign: container 'main' asks for 1 (resourceAllocation.gpu must be 0 or null)",
      loc: ['body', 'runtime', 'containerGroups', 0, 'containers', 1, 'resourceAllocation', 'gpu'],
    });
    const gpuBundles = { ...DEFAULT_RESOURCE_BUNDLES, 'gpu.small': { cpu: 4, memory: 16 * 1024 ** 3, gpu: 1 } };
    expect(resolveRuntime(Runtime.parse({ containerGroups: [{ resourceBundles: ['gpu.small'] }] }), artifact, gpuBundles)).toMatchObject({
      code: 'RUNTIME_GPU_UNAVAILABLE',
      message: expect.stringContaining("it comes from bundle 'gpu.small'"),
      loc: ['body', 'runtime', 'containerGroups', 0, 'resourceBundles', 0],
    });
    expect(resolve({ containerGroups: [{ containers: [{ name: 'main', resourceAllocation: { cpu: 1, memory: '1Gi', gpu: 0 } }] }] })).toMatchObject({ containerGroups: [{ containers: [{ resourceAllocation: { gpu: 0 } }] }] });
  });

  it('rejects duplicate names and more than one bundle at parse time', () => {
    expect(Runtime.safeParse({ containerGroups: [{ name: 'a' }, { name: 'a' }] }).success).toBe(false);
    expect(Runtime.safeParse({ containerGroups: [{ containers: [{ name: 'main' }, { name: 'main' }] }] }).success).toBe(false);
    expect(Runtime.safeParse({ containerGroups: [{ resourceBundles: ['cpu.small', 'cpu.medium'] }] }).success).toBe(false);
  });
});

describe('StartReplacementBody', () => {
  const artifactId = 'a'.repeat(24);
  it('refuses settings the chosen strategy would not act on', () => {
    expect(StartReplacementBody.safeParse({ artifactId, strategy: 'blueGreen', config: { warmupDurationMinutes: 1, keepOldVersionMinutes: 1 } }).success).toBe(true);
    expect(StartReplacementBody.safeParse({ artifactId, strategy: 'rolling', config: { maxSurge: 2 } }).success).toBe(true);
    expect(StartReplacementBody.safeParse({ artifactId, strategy: 'rolling', config: { warmupDurationMinutes: 1 } }).success).toBe(false);
    expect(StartReplacementBody.safeParse({ artifactId, strategy: 'rolling', config: { keepOldVersionMinutes: 1 } }).success).toBe(false);
    expect(StartReplacementBody.safeParse({ artifactId, strategy: 'blueGreen', config: { maxSurge: 2 } }).success).toBe(false);
  });
});
