import { Inject } from '@nestjs/common';
import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { CommandOutcome, domainError, newId, type RuntimeSettings } from '@wcp/contracts';
import { CONFIG, WorkloadServiceConfig } from '../../../config';
import { AggregateRepository } from '../../../event-store/aggregate.repository';
import { READ_MODEL_STORE, ReadModelStore } from '../../../read-models/read-model-store';
import { decideAttach, decideCreateArtifact, evolveArtifact, initialArtifactState, requireArtifact } from '../../../artifacts/domain/artifact.decider';
import type { ArtifactEvent } from '../../../artifacts/domain/artifact.events';
import { ImageCatalogCheck } from '../../../artifacts/image-catalog.check';
import { failure, success } from '../../../messaging/envelope.command';
import { resolveRuntime } from '../../domain/runtime-settings.resolver';
import { capacityRefusal, decideCreate, evolveWorkload, initialWorkloadState, StartContext } from '../../domain/workload.decider';
import { holdingOf } from '../../domain/runtime-capacity';
import { CapacityLedger, withReservation } from '../../capacity/capacity-ledger.service';
import { countActiveWorkloadsOfOwner } from '../../queries/owner-capacity.query';
import { WORKLOADS, WorkloadDoc } from '../../projections/workload.projection';
import { renderWorkload } from '../../queries/workload.renderer';
import { CreateWorkloadCommand } from './create-workload.command';

/**
 * Creates a workload, binds its artifact and deploys it (the first start is in the creating
 * commit; the lifecycle saga runs it). Two streams change, without a transaction: the
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
    @Inject(CONFIG) private readonly config: WorkloadServiceConfig,
    private readonly ledger: CapacityLedger,
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
    const artifactState = await this.repository.load(artifactStream, initialArtifactState, evolveArtifact);
    // Bound already: a redelivery after a crash between the two appends, which must complete.
    const resuming = artifactState.kind === 'present' && artifactState.usedBy.includes(workloadId);
    if (input.artifact) {
      const imageError = this.images.check(input.artifact.spec, ['body', 'artifact', 'spec']);
      if (imageError) return failure(imageError);
    } else {
      const existing = requireArtifact(artifactState, actor, artifactId);
      if ('code' in existing) return failure(existing);
      spec = existing.spec;
    }
    const runtime = resolveRuntime(input.runtime, spec!, this.config.RESOURCE_BUNDLES);
    if ('code' in runtime) return failure(runtime);
    const capacity: StartContext = {
      activeWorkloadsOfOwner: resuming ? 0 : await countActiveWorkloadsOfOwner(this.readModels, actor.id, workloadId),
      maxActiveWorkloadsPerOwner: this.config.MAX_ACTIVE_WORKLOADS_PER_OWNER,
    };
    const refusal = capacityRefusal(capacity);
    if (refusal) return failure(refusal);

    // Creating deploys: the runtime's capacity is reserved before the first append, and given back if the create does not go through.
    // A redelivery that finds its artifact bound was admitted then: it completes without a second look at the ledger.
    const workloadStream = `workload-${workloadId}`;
    const created = await withReservation(
      this.ledger,
      { workloadId, holding: holdingOf(runtime), previous: null, actor, now, alreadyAdmitted: async () => resuming || (await this.repository.isCommitted(commandId, workloadStream)) },
      () => this.bindAndCreate(command, artifactId, runtime, capacity),
    );
    if (!created.ok) return failure(created.error);
    const doc = await this.readModels.get<WorkloadDoc>(WORKLOADS, workloadId);
    if (!doc) return failure(domainError('not_found', 'WORKLOAD_NOT_FOUND', `Workload ${workloadId} was not found.`));
    return success(renderWorkload(doc, actor));
  }

  private async bindAndCreate(command: CreateWorkloadCommand, artifactId: string, runtime: RuntimeSettings, capacity: StartContext) {
    const { workloadId, input } = command.body;
    const { commandId } = command.envelope;
    const { now, actor } = command;
    // An inline artifact is created and bound in one commit; an existing one is only bound.
    const bound = await this.repository.execute({
      streamId: `artifact-${artifactId}`,
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
    if (!bound.ok) return bound;

    return this.repository.execute({
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
          capacity,
          newId(),
        ),
    });
  }
}
