import { Inject } from '@nestjs/common';
import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { CommandOutcome } from '@wcp/contracts';
import { AggregateRepository, eventsOnly } from '../../../event-store/aggregate.repository';
import { failure, success } from '../../../messaging/envelope.command';
import { READ_MODEL_STORE, ReadModelStore } from '../../../read-models/read-model-store';
import { renderArtifact } from '../../artifact.renderer';
import { artifactNotFound, decidePatchArtifact, evolveArtifact, initialArtifactState, requireArtifact } from '../../domain/artifact.decider';
import type { ArtifactVersionEvent } from '../../domain/artifact.events';
import { ARTIFACTS, ArtifactDoc } from '../../projections/artifact.projection';
import { UpdateArtifactCommand } from './update-artifact.command';

/**
 * PATCH of an artifact; `{status: "locked"}` locks it with the next version of its name. The
 * version comes from a per-name counter stream whose optimistic concurrency makes numbers
 * unique; a number reserved by a lock that then failed is skipped, never reused.
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
        const reserved = await this.repository.execute<{ version: number }, ArtifactVersionEvent, null>({
          streamId: `artifact-versions-${current.name.toLowerCase()}`,
          initial: { version: 0 },
          evolve: (s) => ({ version: s.version + 1 }),
          commitId: `${commandId}:version`,
          actor: command.actor,
          now,
          decide: () => ({ events: [{ type: 'artifact-version.assigned', schemaVersion: 1, data: { artifactId } }], result: null }),
        });
        if (!reserved.ok) return failure(reserved.error);
        version = reserved.commit!.events[0].version;
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
