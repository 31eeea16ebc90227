import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { CommandOutcome } from '@wcp/contracts';
import { decideResume } from '../../domain/replacement.decider';
import { ReplacementStarter } from '../../replacement.starter';
import { ResumeReplacementCommand } from './resume-replacement.command';

/** `POST /replacement/resume`: a canary step paused with `pauseMinutes: null` goes on. */
@CommandHandler(ResumeReplacementCommand)
export class ResumeReplacementHandler implements ICommandHandler<ResumeReplacementCommand, CommandOutcome> {
  constructor(private readonly starter: ReplacementStarter) {}

  execute(command: ResumeReplacementCommand): Promise<CommandOutcome> {
    return this.starter.onHeld(command, command.body.workloadId, decideResume);
  }
}
