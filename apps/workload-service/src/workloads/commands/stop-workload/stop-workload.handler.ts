import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { CommandOutcome } from '@wcp/contracts';
import { AggregateRepository } from '../../../event-store/aggregate.repository';
import { failure, success } from '../../../messaging/envelope.command';
import { decideStop, evolveWorkload, initialWorkloadState } from '../../domain/workload.decider';
import { StopWorkloadCommand } from './stop-workload.command';

/** Stop: 202 when accepted, 200 when already stopped or stopping. */
@CommandHandler(StopWorkloadCommand)
export class StopWorkloadHandler implements ICommandHandler<StopWorkloadCommand, CommandOutcome> {
  constructor(private readonly repository: AggregateRepository) {}

  async execute(command: StopWorkloadCommand): Promise<CommandOutcome> {
    const { workloadId } = command.body;
    const outcome = await this.repository.execute({
      streamId: `workload-${workloadId}`,
      initial: initialWorkloadState,
      evolve: evolveWorkload,
      commitId: command.envelope.commandId,
      actor: command.actor,
      now: command.now,
      decide: (state) => decideStop(state, command.actor, workloadId),
    });
    return outcome.ok ? success(outcome.result) : failure(outcome.error);
  }
}
