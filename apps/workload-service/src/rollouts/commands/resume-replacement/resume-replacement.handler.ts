import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { CommandOutcome } from '@wcp/contracts';
import { AggregateRepository, eventsOnly } from '../../../event-store/aggregate.repository';
import { failure } from '../../../messaging/envelope.command';
import { evolveWorkload, initialWorkloadState, requireAccess } from '../../../workloads/domain/workload.decider';
import { decideResume, evolveReplacement, initialReplacementState, replacementNotFound } from '../../domain/replacement.decider';
import { ReplacementStarter } from '../../replacement.starter';
import { ResumeReplacementCommand } from './resume-replacement.command';

/** `POST /replacement/resume`: a canary step paused with `pauseMinutes: null` goes on. */
@CommandHandler(ResumeReplacementCommand)
export class ResumeReplacementHandler implements ICommandHandler<ResumeReplacementCommand, CommandOutcome> {
  constructor(private readonly repository: AggregateRepository, private readonly starter: ReplacementStarter) {}

  async execute(command: ResumeReplacementCommand): Promise<CommandOutcome> {
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
      decide: (state) => eventsOnly(decideResume(state)),
    });
    return outcome.ok ? this.starter.render(id) : failure(outcome.error);
  }
}
