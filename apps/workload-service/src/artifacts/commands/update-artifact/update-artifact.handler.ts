import { Inject } from '@nestjs/common';
import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { CommandOutcome } from '@wcp/contracts';
import { AggregateRepository, eventsOnly } from '../../../event-store/aggregate.repository';
import { failure, success } from '../../../messaging/envelope.command';
import { READ_MODEL_STORE, ReadModelStore } from '../../../read-models/read-model-store';
import { renderArtifact } from '../../artifact.renderer';
import { artifactNotFound, decidePatchArtifact, evolveArtifact, initialArtifactState, requireArtifact } from '../../domain/artifact.decider';
import { reserveArtifactVersion } from '../../artifact-version.reserver';
import { ARTIFACTS, ArtifactDoc } from '../../projections/artifact.projection';
import { UpdateArtifactCommand } from './update-artifact.command';

/**
 * PATCH of an artifact; `{status: "locked"}` locks it with the next version of its name
 * (`reserveArtifactVersion`).
 */
@CommandHandler(UpdateArtifactCommand)
export class UpdateArtifactHandler implements ICommandHandler<UpdateArtifactCommand, CommandOutcome> {
  constructor(private readonly repository: AggregateRepository, @Inject(READ_MODEL_STORE) private readonly readModels: ReadModelStore) {}

  async execute(command: UpdateArtifactCommand): Promise<CommandOutcome> {
    const { artifactId, input } = command.body;
    const { commandId } = command.envelope;
    const now = command.now;
    const streamId = `artifact-${artifactId}`;
    let version = 0;
    if (input.status === 'locked') {
      const current = requireArtifact(await this.repository.load(streamId, initialArtifactState, evolveArtifact), command.actor, artifactId);
      if ('code' in current) return failure(current);
      if (current.status === 'draft') {
        const reserved = await reserveArtifactVersion(this.repository, { name: current.name, artifactId, commitId: `${commandId}:version`, actor: command.actor, now });
        if (typeof reserved !== 'number') return failure(reserved);
        version = reserved;
      }
    }
    const outcome = await this.repository.execute({
      streamId,
      initial: initialArtifactState,
      evolve: evolveArtifact,
      commitId: commandId,
      actor: command.actor,
      now,
      decide: (state) => eventsOnly(decidePatchArtifact(state, command.actor, artifactId, input, () => version)),
    });
    if (!outcome.ok) return failure(outcome.error);
    const doc = await this.readModels.get<ArtifactDoc>(ARTIFACTS, artifactId);
    return doc ? success(renderArtifact(doc, command.actor)) : failure(artifactNotFound(artifactId));
  }
}
