import { Actor, ArtifactSpec, domainError, DomainError, InputArtifact, PatchArtifactBody } from '@wcp/contracts';
import type { ArtifactEvent } from './artifact.events';

export type ArtifactState =
  | { kind: 'absent'; version: number }
  | { kind: 'deleted'; version: number }
  | {
      kind: 'present';
      version: number;
      id: string;
      name: string;
      status: 'draft' | 'locked';
      artifactVersion: number | null;
      spec: ArtifactSpec;
      creatorId: string;
      usedBy: string[];
    };

export const initialArtifactState: ArtifactState = { kind: 'absent', version: 0 };

export function evolveArtifact(state: ArtifactState, event: ArtifactEvent): ArtifactState {
  const version = state.version + 1;
  if (event.type === 'artifact.created') {
    const d = event.data;
    return { kind: 'present', version, id: d.artifactId, name: d.name, status: 'draft', artifactVersion: null, spec: d.spec, creatorId: d.creator.id, usedBy: [] };
  }
  if (state.kind !== 'present') return { ...state, version };
  switch (event.type) {
    case 'artifact.updated':
      return { ...state, version, name: event.data.changes.name ?? state.name };
    case 'artifact.locked':
      return { ...state, version, status: 'locked', artifactVersion: event.data.version };
    case 'artifact.attached':
      return { ...state, version, usedBy: [...new Set([...state.usedBy, event.data.workloadId])] };
    case 'artifact.detached':
      return { ...state, version, usedBy: state.usedBy.filter((w) => w !== event.data.workloadId) };
    case 'artifact.deleted':
      return { kind: 'deleted', version };
  }
}

type Present = Extract<ArtifactState, { kind: 'present' }>;

export function artifactNotFound(artifactId: string): DomainError {
  return domainError('not_found', 'ARTIFACT_NOT_FOUND', `Artifact ${artifactId} was not found.`);
}

/** Artifacts are visible to their creator and to admins. */
export function requireArtifact(state: ArtifactState, actor: Actor, artifactId: string): Present | DomainError {
  if (state.kind !== 'present') return artifactNotFound(artifactId);
  if (!actor.isAdmin && state.creatorId !== actor.id) return artifactNotFound(artifactId);
  return state;
}

export function decideCreateArtifact(state: ArtifactState, actor: Actor, artifactId: string, input: InputArtifact, now: string): ArtifactEvent[] | DomainError {
  if (state.kind !== 'absent') return domainError('conflict', 'ARTIFACT_EXISTS', `Artifact ${artifactId} already exists.`);
  return [
    {
      type: 'artifact.created',
      schemaVersion: 1,
      data: {
        artifactId,
        name: input.name,
        description: input.description ?? null,
        artifactRepositoryId: input.artifactRepositoryId ?? null,
        spec: input.spec,
        creator: { id: actor.id, username: actor.username },
        createdAt: now,
      },
    },
  ];
}

/** A draft backs at most one workload; a locked artifact may back many. */
export function decideAttach(state: ArtifactState, actor: Actor, artifactId: string, workloadId: string): ArtifactEvent[] | DomainError {
  const a = requireArtifact(state, actor, artifactId);
  if ('code' in a) return a;
  if (a.usedBy.includes(workloadId)) return [];
  if (a.status === 'draft' && a.usedBy.length > 0) {
    return domainError('conflict', 'DRAFT_ARTIFACT_IN_USE', `Draft artifact ${artifactId} already backs workload ${a.usedBy[0]}; lock it to share it.`);
  }
  return [{ type: 'artifact.attached', schemaVersion: 1, data: { workloadId } }];
}

export function decideDetach(state: ArtifactState, workloadId: string): ArtifactEvent[] {
  if (state.kind !== 'present' || !state.usedBy.includes(workloadId)) return [];
  return [{ type: 'artifact.detached', schemaVersion: 1, data: { workloadId } }];
}

/**
 * PATCH of an artifact. Locking needs the next version number of the artifact's name, which the
 * handler reserves first and passes in.
 */
export function decidePatchArtifact(
  state: ArtifactState,
  actor: Actor,
  artifactId: string,
  input: PatchArtifactBody,
  nextVersion: () => number,
): ArtifactEvent[] | DomainError {
  const a = requireArtifact(state, actor, artifactId);
  if ('code' in a) return a;
  const changes: { name?: string; description?: string | null } = {};
  if (input.name !== undefined && input.name !== a.name) changes.name = input.name;
  if (input.description !== undefined) changes.description = input.description ?? null;
  if (a.status === 'locked' && Object.keys(changes).length > 0) {
    return domainError('conflict', 'ARTIFACT_LOCKED', `Artifact ${artifactId} is locked; a locked artifact cannot change.`);
  }
  const events: ArtifactEvent[] = [];
  if (Object.keys(changes).length > 0) events.push({ type: 'artifact.updated', schemaVersion: 1, data: { changes } });
  if (input.status === 'locked' && a.status === 'draft') events.push({ type: 'artifact.locked', schemaVersion: 1, data: { version: nextVersion() } });
  return events;
}

export function decideDeleteArtifact(state: ArtifactState, actor: Actor, artifactId: string): ArtifactEvent[] | DomainError {
  const a = requireArtifact(state, actor, artifactId);
  if ('code' in a) return a;
  if (a.status === 'locked') return domainError('conflict', 'ARTIFACT_LOCKED', `Artifact ${artifactId} is locked and cannot be deleted.`);
  if (a.usedBy.length > 0) return domainError('conflict', 'ARTIFACT_IN_USE', `Artifact ${artifactId} is used by workload ${a.usedBy.join(', ')}.`);
  return [{ type: 'artifact.deleted', schemaVersion: 1, data: {} }];
}
