import { Inject, Injectable } from '@nestjs/common';
import type { ArtifactSpec, ArtifactSummary, UserData } from '@wcp/contracts';
import type { Projection } from '../../event-store/commit.pipeline';
import type { StoredEvent } from '../../event-store/event-store';
import { READ_MODEL_STORE, ReadModelStore } from '../../read-models/read-model-store';
import type { ArtifactEvent } from '../domain/artifact.events';

export interface ArtifactDoc {
  _id: string;
  name: string;
  description: string | null;
  type: 'service';
  status: 'draft' | 'locked';
  version: number | null;
  artifactRepositoryId: string | null;
  spec: ArtifactSpec;
  createdAt: string;
  updatedAt: string;
  creator: UserData;
  usedBy: string[];
  summary: ArtifactSummary;
  v: number;
  [key: string]: unknown;
}

export const ARTIFACTS = 'artifacts';

@Injectable()
export class ArtifactProjection implements Projection {
  readonly collections = [ARTIFACTS];

  constructor(@Inject(READ_MODEL_STORE) private readonly store: ReadModelStore) {}

  async init(): Promise<void> {
    await this.store.ensureIndexes(ARTIFACTS, [{ 'creator.id': 1, createdAt: -1 }]);
  }

  async apply(stored: StoredEvent): Promise<void> {
    if (!stored.streamId.startsWith('artifact-')) return;
    const id = stored.streamId.slice('artifact-'.length);
    const event = stored as unknown as ArtifactEvent;
    if (event.type === 'artifact.created') {
      const d = event.data;
      const doc: ArtifactDoc = {
        _id: id,
        name: d.name,
        description: d.description,
        type: 'service',
        status: 'draft',
        version: null,
        artifactRepositoryId: d.artifactRepositoryId,
        spec: d.spec,
        createdAt: d.createdAt,
        updatedAt: d.createdAt,
        creator: d.creator,
        usedBy: [],
        summary: summaryOf(id, d.name, 'draft', null, d.artifactRepositoryId),
        v: stored.version,
      };
      await this.store.put(ARTIFACTS, doc);
      return;
    }
    const doc = await this.store.get<ArtifactDoc>(ARTIFACTS, id);
    if (!doc || stored.version <= doc.v) return;
    const next: ArtifactDoc = { ...doc, v: stored.version };
    switch (event.type) {
      case 'artifact.updated':
        if (event.data.changes.name !== undefined) next.name = event.data.changes.name;
        if (event.data.changes.description !== undefined) next.description = event.data.changes.description;
        next.updatedAt = stored.occurredAt;
        break;
      case 'artifact.locked':
        next.status = 'locked';
        next.version = event.data.version;
        next.updatedAt = stored.occurredAt;
        break;
      case 'artifact.attached':
        next.usedBy = [...new Set([...next.usedBy, event.data.workloadId])];
        break;
      case 'artifact.detached':
        next.usedBy = next.usedBy.filter((w) => w !== event.data.workloadId);
        break;
      case 'artifact.deleted':
        await this.store.delete(ARTIFACTS, id);
        return;
    }
    next.summary = summaryOf(id, next.name, next.status, next.version, next.artifactRepositoryId);
    await this.store.put(ARTIFACTS, next);
  }
}

function summaryOf(id: string, name: string, status: 'draft' | 'locked', version: number | null, artifactRepositoryId: string | null): ArtifactSummary {
  return { id, name, status, type: 'service', version, artifactRepositoryId };
}
