import { Inject, Injectable } from '@nestjs/common';
import { Actor, DomainError } from '@wcp/contracts';
import { Filter, READ_MODEL_STORE, ReadModelStore } from '../read-models/read-model-store';
import { ArtifactDto, renderArtifact } from './artifact.renderer';
import { artifactNotFound } from './domain/artifact.decider';
import { ARTIFACTS, ArtifactDoc } from './projections/artifact.projection';

@Injectable()
export class ArtifactQueries {
  constructor(@Inject(READ_MODEL_STORE) private readonly store: ReadModelStore) {}

  async list(actor: Actor, offset: number, limit: number, status?: string[]): Promise<{ totalCount: number; data: ArtifactDto[] }> {
    const and: Filter[] = [];
    if (!actor.isAdmin) and.push({ 'creator.id': actor.id });
    if (status?.length) and.push({ status: { $in: status } });
    const filter: Filter = { $and: and };
    const [totalCount, docs] = await Promise.all([
      this.store.count(ARTIFACTS, filter),
      this.store.find<ArtifactDoc>(ARTIFACTS, filter, { sort: [['createdAt', -1], ['_id', -1]], skip: offset, limit }),
    ]);
    return { totalCount, data: docs.map((d) => renderArtifact(d, actor)) };
  }

  async get(artifactId: string, actor: Actor): Promise<ArtifactDto | DomainError> {
    const doc = await this.store.get<ArtifactDoc>(ARTIFACTS, artifactId);
    if (!doc || (!actor.isAdmin && doc.creator.id !== actor.id)) return artifactNotFound(artifactId);
    return renderArtifact(doc, actor);
  }
}
