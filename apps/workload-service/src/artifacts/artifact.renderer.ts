import type { Actor } from '@wcp/contracts';
import type { ArtifactDoc } from './projections/artifact.projection';

export interface ArtifactDto {
  id: string;
  name: string;
  description: string | null;
  type: 'service';
  status: 'draft' | 'locked';
  version: number | null;
  artifactRepositoryId: string | null;
  spec: ArtifactDoc['spec'];
  createdAt: string;
  updatedAt: string;
  creator: ArtifactDoc['creator'];
  permissions: string[];
}

export function renderArtifact(doc: ArtifactDoc, actor: Actor): ArtifactDto {
  const own = actor.isAdmin || doc.creator.id === actor.id;
  return {
    id: doc._id,
    name: doc.name,
    description: doc.description,
    type: 'service',
    status: doc.status,
    version: doc.version,
    artifactRepositoryId: doc.artifactRepositoryId,
    spec: doc.spec,
    createdAt: doc.createdAt,
    updatedAt: doc.updatedAt,
    creator: doc.creator,
    permissions: own ? ['CAN_VIEW', 'CAN_UPDATE', 'CAN_DELETE'] : ['CAN_VIEW'],
  };
}
