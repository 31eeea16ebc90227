import { z } from 'zod';
import { InputArtifact } from './artifact';
import { Id } from './ids';
import { Runtime, RuntimeSettings } from './runtime';

export const WORKLOAD_STATUSES = [
  'unknown', 'submitted', 'provisioning', 'launching', 'running', 'stopping', 'stopped', 'errored', 'terminated',
  'suspended', 'interrupted',
] as const;
export const WorkloadStatus = z.enum(WORKLOAD_STATUSES);
export type WorkloadStatus = z.infer<typeof WorkloadStatus>;

export const IMPORTANCES = ['critical', 'high', 'moderate', 'low'] as const;
export const Importance = z.enum(IMPORTANCES);
export type Importance = z.infer<typeof Importance>;

export const Tag = z.strictObject({ name: z.string().min(1).max(128), value: z.string().max(256) });
export type Tag = z.infer<typeof Tag>;

/** Body of `POST /workloads`: exactly one of `artifactId` and `artifact`. */
export const CreateWorkloadBody = z
  .strictObject({
    name: z.string().trim().min(1).max(256),
    description: z.string().max(4096).nullish(),
    importance: Importance.default('low'),
    artifactId: Id.optional(),
    artifact: InputArtifact.optional(),
    runtime: Runtime.optional(),
    tags: z.array(Tag).max(50).default([]),
  })
  .superRefine((body, ctx) => {
    if ((body.artifactId === undefined) === (body.artifact === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['artifactId'], message: 'exactly one of artifactId and artifact is required' });
    }
  });
export type CreateWorkloadBody = z.output<typeof CreateWorkloadBody>;

/** Body of `PATCH /workloads/{id}`: metadata only, merged. */
export const UpdateWorkloadBody = z.strictObject({
  name: z.string().trim().min(1).max(256).optional(),
  description: z.string().max(4096).nullish(),
  importance: Importance.optional(),
  tags: z.array(Tag).max(50).optional(),
});
export type UpdateWorkloadBody = z.output<typeof UpdateWorkloadBody>;

export const SHARE_ROLES = ['OWNER', 'USER', 'CONSUMER'] as const;
export type ShareRole = (typeof SHARE_ROLES)[number];

export const PERMISSIONS = ['CAN_VIEW', 'CAN_READ_DETAILS', 'CAN_INVOKE', 'CAN_UPDATE', 'CAN_DELETE', 'CAN_SHARE'] as const;
export type Permission = (typeof PERMISSIONS)[number];

export interface UserData {
  id: string;
  username: string;
  fullName?: string | null;
}

export interface ArtifactSummary {
  id: string;
  name: string;
  status: 'draft' | 'locked';
  type: 'service';
  version: number | null;
  artifactRepositoryId: string | null;
}

/** The Workload resource as the API returns it. */
export interface WorkloadDto {
  id: string;
  name: string;
  description: string | null;
  createdAt: string;
  updatedAt: string;
  creator: UserData;
  owners: UserData[];
  permissions: Permission[];
  status: WorkloadStatus;
  importance: Importance;
  type: 'service';
  artifactId: string;
  artifact: ArtifactSummary;
  protonId: string | null;
  endpoint: string;
  runtime: RuntimeSettings;
  replacement: unknown | null;
  requestStats: unknown | null;
  lastResponse: unknown | null;
  tags: Tag[];
}

export interface WorkloadOperationResponse {
  status: string;
  workloadId: string;
  trackVia: string;
}

export const WORKLOAD_EVENT_TYPES = [
  'Workload Created', 'Workload Updated', 'Start Requested', 'Stop Requested', 'Status Changed',
  'Settings Updated', 'Replacement Started', 'Replacement Completed', 'Replacement Errored',
  'Replacement Canceled', 'Artifact Promoted', 'Shared Roles Updated', 'Stats Reset',
  'Replica Restarted', 'Proton Errored', 'Proton Scaled', 'Workload Deleted',
] as const;
export type WorkloadEventType = (typeof WORKLOAD_EVENT_TYPES)[number];

export interface WorkloadEventDto {
  id: string;
  workloadId: string;
  timestamp: string;
  eventType: WorkloadEventType;
  actorId: string | null;
  details: Record<string, unknown>;
}

export interface Page<T> {
  totalCount: number;
  count: number;
  next: string | null;
  previous: string | null;
  data: T[];
}
