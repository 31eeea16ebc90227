import { Inject } from '@nestjs/common';
import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { CommandOutcome, DEFAULT_CPU, DEFAULT_MEMORY_BYTES, domainError, normalizeRuntime, RuntimeSettings } from '@wcp/contracts';
import { AggregateRepository } from '../../../event-store/aggregate.repository';
import { READ_MODEL_STORE, ReadModelStore } from '../../../read-models/read-model-store';
import { decideAttach, decideCreateArtifact, evolveArtifact, initialArtifactState, requireArtifact } from '../../../artifacts/domain/artifact.decider';
import type { ArtifactEvent } from '../../../artifacts/domain/artifact.events';
import { ImageCatalogCheck } from '../../../artifacts/image-catalog.check';
import { failure, success } from '../../../messaging/envelope.command';
import { decideCreate, evolveWorkload, initialWorkloadState } from '../../domain/workload.decider';
import { WORKLOADS, WorkloadDoc } from '../../projections/workload.projection';
import { renderWorkload } from '../../queries/workload.renderer';
import { CreateWorkloadCommand } from './create-workload.command';

/**
 * Creates a workload and binds its artifact. Two streams change, without a transaction: the
 * artifact is bound first (its stream's version guards "a draft backs one workload"), then the
 * workload is created. Both appends are idempotent by commit id, so a redelivery after a crash
 * in between completes the work instead of repeating it.
 */
@CommandHandler(CreateWorkloadCommand)
export class CreateWorkloadHandler implements ICommandHandler<CreateWorkloadCommand, CommandOutcome> {
  constructor(
    private readonly repository: AggregateRepository,
    private readonly images: ImageCatalogCheck,
    @Inject(READ_MODEL_STORE) private readonly readModels: ReadModelStore,
  ) {}

  async execute(command: CreateWorkloadCommand): Promise<CommandOutcome> {
    const { workloadId, input } = command.body;
    const { commandId } = command.envelope;
    const now = command.now;
    const actor = command.actor;
    const artifactId = command.body.artifactId ?? input.artifactId!;
    const artifactStream = `artifact-${artifactId}`;

    // Everything that can refuse is checked before the first append: no partial state.
    let spec = input.artifact?.spec;
    if (input.artifact) {
      const imageError = this.images.check(input.artifact.spec, ['body', 'artifact', 'spec']);
      if (imageError) return failure(imageError);
    } else {
      const existing = requireArtifact(await this.repository.load(artifactStream, initialArtifactState, evolveArtifact), actor, artifactId);
      if ('code' in existing) return failure(existing);
      spec = existing.spec;
    }
    const runtime = this.runtimeFor(input.runtime ? normalizeRuntime(input.runtime) : null, spec!);
    if ('code' in runtime) return failure(runtime);

    // An inline artifact is created and bound in one commit; an existing one is only bound.
    const bound = await this.repository.execute({
      streamId: artifactStream,
      initial: initialArtifactState,
      evolve: evolveArtifact,
      commitId: `${commandId}:artifact`,
      actor,
      now,
      decide: (state) => {
        let events: ArtifactEvent[] = [];
        let current = state;
        if (input.artifact) {
          const created = decideCreateArtifact(state, actor, artifactId, input.artifact, now);
          if ('code' in created) return created;
          events = created;
          current = created.reduce(evolveArtifact, state);
        }
        const attach = decideAttach(current, actor, artifactId, workloadId);
        if ('code' in attach) return attach;
        return { events: [...events, ...attach], result: null };
      },
    });
    if (!bound.ok) return failure(bound.error);

    const created = await this.repository.execute({
      streamId: `workload-${workloadId}`,
      initial: initialWorkloadState,
      evolve: evolveWorkload,
      commitId: commandId,
      actor,
      now,
      decide: (state) =>
        decideCreate(
          state,
          actor,
          { workloadId, name: input.name, description: input.description ?? null, importance: input.importance, artifactId, runtime, tags: input.tags },
          now,
        ),
    });
    if (!created.ok) return failure(created.error);
    const doc = await this.readModels.get<WorkloadDoc>(WORKLOADS, workloadId);
    if (!doc) return failure(domainError('not_found', 'WORKLOAD_NOT_FOUND', `Workload ${workloadId} was not found.`));
    return success(renderWorkload(doc, actor));
  }

  /** The runtime must name the artifact's groups and their containers; omitted, it defaults per group. */
  private runtimeFor(runtime: RuntimeSettings | null, spec: { containerGroups: Array<{ name: string; containers: Array<{ name: string; primary: boolean }> }> }) {
    if (!runtime) {
      return {
        containerGroups: spec.containerGroups.map((g) => ({
          name: g.name,
          replicaCount: 1,
          autoscaling: null,
          resourceBundles: [],
          containers: [{ name: g.containers.find((c) => c.primary)!.name, resourceAllocation: { cpu: DEFAULT_CPU, memory: DEFAULT_MEMORY_BYTES, gpu: null } }],
        })),
      } satisfies RuntimeSettings;
    }
    for (const [i, group] of runtime.containerGroups.entries()) {
      const specGroup = spec.containerGroups.find((g) => g.name === group.name);
      if (!specGroup) {
        return domainError('validation', 'RUNTIME_GROUP_UNKNOWN', `the artifact has no container group '${group.name}'`, ['body', 'runtime', 'containerGroups', i, 'name']);
      }
      for (const [j, container] of group.containers.entries()) {
        if (!specGroup.containers.some((c) => c.name === container.name)) {
          return domainError('validation', 'RUNTIME_CONTAINER_UNKNOWN', `the artifact's group '${group.name}' has no container '${container.name}'`, [
            'body', 'runtime', 'containerGroups', i, 'containers', j, 'name',
          ]);
        }
      }
    }
    return runtime;
  }
}
