import { DEFAULT_CPU, DEFAULT_MEMORY_BYTES, domainError, type DomainError, type ParsedRuntime, type ResourceBundle, type RuntimeSettings } from '@wcp/contracts';

/** What the resolver needs of an artifact: its groups and their containers. */
export interface ArtifactGroups {
  containerGroups: Array<{ name: string; containers: Array<{ name: string; primary: boolean }> }>;
}

type Group = RuntimeSettings['containerGroups'][number];
type Allocation = Group['containers'][number]['resourceAllocation'];

/**
 * GPUs a replica can be given. The local process runtime assigns no devices, so a GPU request is
 * refused rather than accepted and ignored; a driver that schedules devices (Kubernetes' device
 * plugins) would make this its capacity.
 */
const GPUS_PER_REPLICA = 0;

const DEFAULT_ALLOCATION: Allocation = { cpu: DEFAULT_CPU, memory: DEFAULT_MEMORY_BYTES, gpu: null };

/**
 * The full runtime of a workload from what a client sent (spec §2, "partial runtimes are
 * accepted"): every artifact group gets an entry, named groups and containers must exist in
 * the artifact, each container's allocation is its own, else its group's bundle, else the
 * default. The primary container is always listed. Pure: the same input always resolves to
 * the same settings, so a redelivered command decides the same way.
 */
export function resolveRuntime(
  input: ParsedRuntime | null | undefined,
  artifact: ArtifactGroups,
  bundles: Readonly<Record<string, ResourceBundle>>,
): RuntimeSettings | DomainError {
  const given = new Map((input?.containerGroups ?? []).map((g, i) => [g.name, { group: g, index: i }]));
  for (const [name, { index }] of given) {
    if (!artifact.containerGroups.some((g) => g.name === name)) {
      const known = artifact.containerGroups.map((g) => `'${g.name}'`).join(', ');
      return invalid('RUNTIME_GROUP_UNKNOWN', `the artifact has no container group '${name}' (it has ${known})`, [index, 'name']);
    }
  }
  const groups: Group[] = [];
  for (const specGroup of artifact.containerGroups) {
    const entry = given.get(specGroup.name);
    const g = entry?.group;
    const at = (...rest: Array<string | number>) => [entry?.index ?? 0, ...rest];
    let bundle: ResourceBundle | null = null;
    const bundleId = g?.resourceBundles[0];
    if (bundleId !== undefined) {
      bundle = bundles[bundleId] ?? null;
      if (!bundle) {
        return invalid('RESOURCE_BUNDLE_UNKNOWN', `unknown resource bundle '${bundleId}'; known bundles: ${Object.keys(bundles).sort().join(', ')}`, at('resourceBundles', 0));
      }
    }
    const fallback: Allocation = bundle ? { cpu: bundle.cpu, memory: bundle.memory, gpu: bundle.gpu } : DEFAULT_ALLOCATION;
    const overrides = g?.containers ?? [];
    for (const [j, c] of overrides.entries()) {
      if (!specGroup.containers.some((s) => s.name === c.name)) {
        return invalid('RUNTIME_CONTAINER_UNKNOWN', `the artifact's group '${specGroup.name}' has no container '${c.name}'`, at('containers', j, 'name'));
      }
    }
    const primary = specGroup.containers.find((c) => c.primary) ?? specGroup.containers[0];
    const listed = specGroup.containers.filter((c) => c === primary || overrides.some((o) => o.name === c.name));
    const autoscaling = g?.autoscaling ? { ...g.autoscaling, cooldownPeriodMinutes: g.autoscaling.cooldownPeriodMinutes ?? null } : null;
    groups.push({
      name: specGroup.name,
      replicaCount: autoscaling?.enabled ? null : (g?.replicaCount ?? 1),
      autoscaling,
      resourceBundles: g?.resourceBundles ?? [],
      containers: listed.map((c) => {
        const own = overrides.find((o) => o.name === c.name)?.resourceAllocation;
        return { name: c.name, resourceAllocation: own ? { cpu: own.cpu, memory: own.memory, gpu: own.gpu ?? null } : { ...fallback } };
      }),
    });
    for (const c of groups[groups.length - 1].containers) {
      const gpu = c.resourceAllocation.gpu ?? 0;
      if (gpu <= GPUS_PER_REPLICA) continue;
      const j = overrides.findIndex((o) => o.name === c.name && o.resourceAllocation);
      return domainError(
        'validation',
        'RUNTIME_GPU_UNAVAILABLE',
        `the runtime has no GPUs to assign: container '${c.name}' asks for ${gpu} (resourceAllocation.gpu must be 0 or null${j < 0 ? `; it comes from bundle '${bundleId}'` : ''})`,
        ['body', 'runtime', 'containerGroups', ...(j < 0 ? at('resourceBundles', 0) : at('containers', j, 'resourceAllocation', 'gpu'))],
      );
    }
  }
  return { containerGroups: groups };
}

function invalid(code: string, message: string, path: Array<string | number>): DomainError {
  return domainError('validation', code, message, ['body', 'runtime', 'containerGroups', ...path]);
}
