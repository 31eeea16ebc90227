import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { CommandOutcome } from '@wcp/contracts';
import { AggregateRepository, eventsOnly } from '../../../event-store/aggregate.repository';
import { failure } from '../../../messaging/envelope.command';
import { evolveWorkload, initialWorkloadState, requireAccess } from '../../../workloads/domain/workload.decider';
import { decideCancel, evolveReplacement, initialReplacementState, replacementNotFound } from '../../domain/replacement.decider';
import { ReplacementStarter } from '../../replacement.starter';
import { CancelReplacementCommand } from './cancel-replacement.command';

/** `DELETE /replacement`: the saga restores the previous proton, then stops the candidate. */
@CommandHandler(CancelReplacementCommand)
export class CancelReplacementHandler implements ICommandHandler<CancelReplacementCommand, CommandOutcome> {
  constructor(private readonly repository: AggregateRepository, private readonly starter: ReplacementStarter) {}

  async execute(command: CancelReplacementCommand): Promise<CommandOutcome> {
    const { workloadId } = command.body;
    const w = requireAccess(await this.repository.load(`workload-${workloadId}`, initialWorkloadState, evolveWorkload), command.actor, 'CAN_UPDATE', workloadId);
    if ('code' in w) return failure(w);
    if (!w.replacement) return failure(replacementNotFound());
    const id = w.replacement.id;
    const outcome = await this.repository.execute({
      streamId: `replacement-${id}`,
      initial: initialReplacementState,
      evolve: evolveReplacement,
      commitId: command.envelope.commandId,
      actor: command.actor,
      now: command.now,
      decide: (state) => eventsOnly(decideCancel(state)),
    });
    return outcome.ok ? this.starter.render(id) : failure(outcome.error);
  }
}
