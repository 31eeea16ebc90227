import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { CommandOutcome } from '@wcp/contracts';
import { AggregateRepository } from '../../../event-store/aggregate.repository';
import { failure, success } from '../../../messaging/envelope.command';
import { decideResetStats, evolveWorkload, initialWorkloadState } from '../../domain/workload.decider';
import { ResetStatsCommand } from './reset-stats.command';

/** Records a stats reset; answers the reset time the telemetry service must apply. */
@CommandHandler(ResetStatsCommand)
export class ResetStatsHandler implements ICommandHandler<ResetStatsCommand, CommandOutcome> {
  constructor(private readonly repository: AggregateRepository) {}

  async execute(command: ResetStatsCommand): Promise<CommandOutcome> {
    const { workloadId, protonId, startTime, endTime } = command.body;
    const outcome = await this.repository.execute({
      streamId: `workload-${workloadId}`,
      initial: initialWorkloadState,
      evolve: evolveWorkload,
      commitId: command.envelope.commandId,
      actor: command.actor,
      now: command.now,
      decide: (state) => decideResetStats(state, command.actor, workloadId, { protonId, startTime, endTime }),
    });
    if (!outcome.ok) return failure(outcome.error);
    return success({ resetAt: outcome.commit?.events[0]?.occurredAt ?? command.now });
  }
}
