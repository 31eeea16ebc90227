import type { Importance, ReplacementConfigSettings, ReplacementStrategy, RuntimeSettings, SharedRoleDto, Tag, WorkloadStatus } from '@wcp/contracts';

/**
 * A replacement's whole plan. It takes the workload's lock (one replacement at a time) in the
 * workload stream, so the replacement's own stream can be (re)created from it after a crash.
 */
export type ReplacementPlan = {
  replacementId: string;
  /** `settings`: PATCH /settings (same artifact); `artifact`: POST /replacement. */
  origin: 'settings' | 'artifact';
  strategy: ReplacementStrategy;
  config: ReplacementConfigSettings;
  candidateArtifactId: string;
  candidateProtonId: string;
  previousProtonId: string | null;
  runtime: RuntimeSettings;
  /** Replica count of the candidate when done, and of the previous proton at the start. */
  targetReplicas: number;
  previousReplicas: number;
  /** The first candidate batch must be ready by then, or the replacement errors. */
  readyDeadline: string;
};

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
  /**
   * The autoscaler changed a proton's desired replica count (docs/autoscaling.md). Only real
   * changes are recorded; `observed` is in the unit of `metric` (mean in-flight requests, or CPU
   * % summed over replicas), `policy` the index of the deciding policy in `autoscaling.policies`.
   * The last one per proton is what a restarted service runs, not the autoscaling floor.
   */
  | {
      type: 'workload.proton-scaled';
      schemaVersion: 1;
      data: {
        protonId: string;
        from: number;
        to: number;
        metric: 'httpRequestsConcurrency' | 'cpuAverageUtilization';
        observed: number;
        target: number;
        policy: number;
        mode: 'stable' | 'panic' | 'from-zero' | 'to-zero' | 'bounds';
        reason: string;
      };
    }
  | { type: 'workload.stats-reset'; schemaVersion: 1; data: { protonId: string | null; startTime: string | null; endTime: string | null } }
  | { type: 'workload.deleted'; schemaVersion: 1; data: { leftovers: string[] } }
  /**
   * A replacement holds the workload until it finishes (one at a time). The event carries the
   * whole plan, so the replacement's own stream can be (re)created from it after a crash.
   */
  | { type: 'workload.replacement-started'; schemaVersion: 1; data: ReplacementPlan }
  /** `completed`: the candidate is the workload's proton, with its artifact and runtime. */
  | {
      type: 'workload.replacement-finished';
      schemaVersion: 1;
      data: { replacementId: string; outcome: 'completed' | 'errored' | 'canceled'; message: string | null; protonId: string | null; artifactId: string; runtime: RuntimeSettings };
    }
  | { type: 'workload.settings-updated'; schemaVersion: 1; data: { runtime: RuntimeSettings; replacementId: string } }
  | { type: 'workload.artifact-promoted'; schemaVersion: 1; data: { artifactId: string; version: number } }
  /** The whole list of recipients before and after a `PATCH sharedRoles` (replace semantics), names as they were then. */
  | { type: 'workload.shared-roles-updated'; schemaVersion: 1; data: { before: SharedRoleDto[]; after: SharedRoleDto[]; updatedBy: { id: string; username: string } } };

export type WorkloadEventType = WorkloadEvent['type'];
