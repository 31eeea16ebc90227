import { Inject } from '@nestjs/common';
import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { CommandOutcome, newId } from '@wcp/contracts';
import { capacityLimits, CONFIG, WorkloadServiceConfig } from '../../../config';
import { AggregateRepository } from '../../../event-store/aggregate.repository';
import { failure, success } from '../../../messaging/envelope.command';
import { READ_MODEL_STORE, ReadModelStore } from '../../../read-models/read-model-store';
import { decideStart, evolveWorkload, initialWorkloadState } from '../../domain/workload.decider';
import { holdingOf, runtimeCapacityRefusal } from '../../domain/runtime-capacity';
import { countActiveWorkloadsOfOwner } from '../../queries/owner-capacity.query';
import { heldCapacity } from '../../queries/runtime-capacity.query';
import { StartWorkloadCommand } from './start-workload.command';

/**
 * Start: 202 when accepted, 200 when already running or starting, 403 past the per-owner limit
 * or the runtime's capacity (nothing is written then: the workload stays stopped).
 */
@CommandHandler(StartWorkloadCommand)
export class StartWorkloadHandler implements ICommandHandler<StartWorkloadCommand, CommandOutcome> {
  constructor(
    private readonly repository: AggregateRepository,
    @Inject(READ_MODEL_STORE) private readonly readModels: ReadModelStore,
    @Inject(CONFIG) private readonly config: WorkloadServiceConfig,
  ) {}

  async execute(command: StartWorkloadCommand): Promise<CommandOutcome> {
    const { workloadId } = command.body;
    const streamId = `workload-${workloadId}`;
    const current = await this.repository.load(streamId, initialWorkloadState, evolveWorkload);
    const activeWorkloadsOfOwner = current.kind === 'active' ? await countActiveWorkloadsOfOwner(this.readModels, current.creatorId, workloadId) : 0;
    const runtimeCapacity = current.kind === 'active' ? runtimeCapacityRefusal(holdingOf(current.runtime), await heldCapacity(this.readModels, workloadId), capacityLimits(this.config)) : null;
    const outcome = await this.repository.execute({
      streamId,
      initial: initialWorkloadState,
      evolve: evolveWorkload,
      commitId: command.envelope.commandId,
      actor: command.actor,
      now: command.now,
      decide: (state) =>
        decideStart(state, command.actor, workloadId, { activeWorkloadsOfOwner, maxActiveWorkloadsPerOwner: this.config.MAX_ACTIVE_WORKLOADS_PER_OWNER, runtimeCapacity }, newId()),
    });
    return outcome.ok ? success(outcome.result) : failure(outcome.error);
  }
}
