import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { CommandOutcome } from '@wcp/contracts';
import { decideCancel } from '../../domain/replacement.decider';
import { ReplacementStarter } from '../../replacement.starter';
import { CancelReplacementCommand } from './cancel-replacement.command';

/** `DELETE /replacement`: the saga restores the previous proton, then stops the candidate. */
@CommandHandler(CancelReplacementCommand)
export class CancelReplacementHandler implements ICommandHandler<CancelReplacementCommand, CommandOutcome> {
  constructor(private readonly starter: ReplacementStarter) {}

  execute(command: CancelReplacementCommand): Promise<CommandOutcome> {
    return this.starter.onHeld(command, command.body.workloadId, decideCancel);
  }
}
