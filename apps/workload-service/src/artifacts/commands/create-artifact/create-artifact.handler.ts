import { Inject } from '@nestjs/common';
import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { CommandOutcome } from '@wcp/contracts';
import { AggregateRepository, eventsOnly } from '../../../event-store/aggregate.repository';
import { failure, success } from '../../../messaging/envelope.command';
import { READ_MODEL_STORE, ReadModelStore } from '../../../read-models/read-model-store';
import { renderArtifact } from '../../artifact.renderer';
import { artifactNotFound, decideCreateArtifact, evolveArtifact, initialArtifactState } from '../../domain/artifact.decider';
import { ImageCatalogCheck } from '../../image-catalog.check';
import { ARTIFACTS, ArtifactDoc } from '../../projections/artifact.projection';
import { CreateArtifactCommand } from './create-artifact.command';

@CommandHandler(CreateArtifactCommand)
export class CreateArtifactHandler implements ICommandHandler<CreateArtifactCommand, CommandOutcome> {
  constructor(
    private readonly repository: AggregateRepository,
    private readonly images: ImageCatalogCheck,
    @Inject(READ_MODEL_STORE) private readonly readModels: ReadModelStore,
  ) {}

  async execute(command: CreateArtifactCommand): Promise<CommandOutcome> {
    const { artifactId, input } = command.body;
    const imageError = this.images.check(input.spec, ['body', 'spec']);
    if (imageError) return failure(imageError);
    const outcome = await this.repository.execute({
      streamId: `artifact-${artifactId}`,
      initial: initialArtifactState,
      evolve: evolveArtifact,
      commitId: command.envelope.commandId,
      actor: command.actor,
      now: command.now,
      decide: (state) => eventsOnly(decideCreateArtifact(state, command.actor, artifactId, input, command.now)),
    });
    if (!outcome.ok) return failure(outcome.error);
    const doc = await this.readModels.get<ArtifactDoc>(ARTIFACTS, artifactId);
    return doc ? success(renderArtifact(doc, command.actor)) : failure(artifactNotFound(artifactId));
  }
}
