import type { Importance, RuntimeSettings, Tag, WorkloadStatus } from '@wcp/contracts';

/**
 * Events of the `workload-<id>` stream. Stored types are explicit strings with a schema
 * version; renaming a TypeScript type never changes what is on disk.
 */
export type WorkloadEvent =
  | {
      type: 'workload.created';
      schemaVersion: 1;
      data: {
        workloadId: string;
        name: string;
        description: string | null;
        importance: Importance;
        artifactId: string;
        runtime: RuntimeSettings;
        tags: Tag[];
        creator: { id: string; username: string };
        createdAt: string;
      };
    }
  | {
      type: 'workload.updated';
      schemaVersion: 1;
      data: { changes: { name?: string; description?: string | null; importance?: Importance; tags?: Tag[] } };
    }
  /** `protonId`: the proton this start runs; a new one per start. */
  | { type: 'workload.start-requested'; schemaVersion: 1; data: { protonId: string } }
  | { type: 'workload.stop-requested'; schemaVersion: 1; data: Record<string, never> }
  | {
      type: 'workload.status-changed';
      schemaVersion: 1;
      data: { from: WorkloadStatus; to: WorkloadStatus; protonId: string | null; reason: string | null };
    }
  | {
      type: 'workload.replica-restarted';
      schemaVersion: 1;
      data: { protonId: string; replica: string; restartCount: number; reason: string; exitCode: number | null };
    }
  | { type: 'workload.proton-errored'; schemaVersion: 1; data: { protonId: string; reason: string } }
  | { type: 'workload.stats-reset'; schemaVersion: 1; data: { protonId: string | null; startTime: string | null; endTime: string | null } }
  | { type: 'workload.deleted'; schemaVersion: 1; data: { leftovers: string[] } };

export type WorkloadEventType = WorkloadEvent['type'];
