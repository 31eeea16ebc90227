import type { ArtifactSpec } from '@wcp/contracts';

/** Events of the `artifact-<id>` stream. */
export type ArtifactEvent =
  | {
      type: 'artifact.created';
      schemaVersion: 1;
      data: {
        artifactId: string;
        name: string;
        description: string | null;
        artifactRepositoryId: string | null;
        spec: ArtifactSpec;
        creator: { id: string; username: string };
        createdAt: string;
      };
    }
  | { type: 'artifact.updated'; schemaVersion: 1; data: { changes: { name?: string; description?: string | null } } }
  | { type: 'artifact.locked'; schemaVersion: 1; data: { version: number } }
  | { type: 'artifact.attached'; schemaVersion: 1; data: { workloadId: string } }
  | { type: 'artifact.detached'; schemaVersion: 1; data: { workloadId: string } }
  | { type: 'artifact.deleted'; schemaVersion: 1; data: Record<string, never> };

/** Events of the `artifact-versions-<name>` stream: its version is the last assigned number. */
export type ArtifactVersionEvent = { type: 'artifact-version.assigned'; schemaVersion: 1; data: { artifactId: string } };
