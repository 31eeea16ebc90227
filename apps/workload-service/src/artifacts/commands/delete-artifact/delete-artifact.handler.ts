import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { CommandOutcome } from '@wcp/contracts';
import { AggregateRepository, eventsOnly } from '../../../event-store/aggregate.repository';
import { failure, success } from '../../../messaging/envelope.command';
import { decideDeleteArtifact, evolveArtifact, initialArtifactState } from '../../domain/artifact.decider';
import { DeleteArtifactCommand } from './delete-artifact.command';

/** Deleting is refused (409) for locked artifacts and for artifacts backing a workload. */
@CommandHandler(DeleteArtifactCommand)
export class DeleteArtifactHandler implements ICommandHandler<DeleteArtifactCommand, CommandOutcome> {
  constructor(private readonly repository: AggregateRepository) {}

  async execute(command: DeleteArtifactCommand): Promise<CommandOutcome> {
    const { artifactId } = command.body;
    const outcome = await this.repository.execute({
      streamId: `artifact-${artifactId}`,
      initial: initialArtifactState,
      evolve: evolveArtifact,
      commitId: command.envelope.commandId,
      actor: command.actor,
      now: command.now,
      decide: (state) => eventsOnly(decideDeleteArtifact(state, command.actor, artifactId)),
    });
    return outcome.ok ? success({}) : failure(outcome.error);
  }
}
