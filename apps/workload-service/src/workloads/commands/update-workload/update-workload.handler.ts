import { Inject } from '@nestjs/common';
import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { CommandOutcome } from '@wcp/contracts';
import { AggregateRepository } from '../../../event-store/aggregate.repository';
import { failure, success } from '../../../messaging/envelope.command';
import { READ_MODEL_STORE, ReadModelStore } from '../../../read-models/read-model-store';
import { UnitOfWorkStore } from '../../../read-models/unit-of-work.store';
import { decideUpdate, evolveWorkload, initialWorkloadState, notFound } from '../../domain/workload.decider';
import { WORKLOADS, WorkloadDoc } from '../../projections/workload.projection';
import { renderWorkload } from '../../queries/workload.renderer';
import { UpdateWorkloadCommand } from './update-workload.command';

/** PATCH of workload metadata: merged, never restarts anything. */
@CommandHandler(UpdateWorkloadCommand)
export class UpdateWorkloadHandler implements ICommandHandler<UpdateWorkloadCommand, CommandOutcome> {
  constructor(private readonly repository: AggregateRepository, @Inject(READ_MODEL_STORE) private readonly readModels: ReadModelStore) {}

  async execute(command: UpdateWorkloadCommand): Promise<CommandOutcome> {
    const { workloadId, input } = command.body;
    const outcome = await this.repository.execute({
      streamId: `workload-${workloadId}`,
      initial: initialWorkloadState,
      evolve: evolveWorkload,
      commitId: command.envelope.commandId,
      actor: command.actor,
      now: command.now,
      decide: (state) => decideUpdate(state, command.actor, workloadId, input),
    });
    if (!outcome.ok) return failure(outcome.error);
    // What this command's projection just wrote, when it is still the latest; else read back.
    const written = this.readModels instanceof UnitOfWorkStore ? this.readModels.recentlyWritten<WorkloadDoc>(WORKLOADS, workloadId) : null;
    const version = outcome.commit?.events.at(-1)?.version;
    const doc = written && version !== undefined && written.v === version ? written : await this.readModels.get<WorkloadDoc>(WORKLOADS, workloadId);
    return doc ? success(renderWorkload(doc, command.actor)) : failure(notFound(workloadId));
  }
}
