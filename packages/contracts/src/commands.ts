import { z } from 'zod';
import { InputArtifact, PatchArtifactBody } from './artifact';
import { DomainError } from './errors';
import { Actor, CreateGroupBody, CreateOrgBody, CreateUserBody, UpdateUserBody } from './identity';
import { Id, IsoTime } from './ids';
import { StartReplacementBody, UpdateSettingsBody } from './replacement';
import { UpdateSharedRolesBody } from './sharing';
import { CreateWorkloadBody, UpdateWorkloadBody } from './workload';

/**
 * Commands travel gateway → workload-service on `workload.commands.v1`, keyed by the id of the
 * aggregate they target, so one partition (and one consumer) sees one workload's commands in order.
 * `commandId` makes them idempotent: a redelivered command returns its first outcome.
 */
export const CommandBody = z.discriminatedUnion('name', [
  z.object({ name: z.literal('CreateWorkload'), workloadId: Id, artifactId: Id.nullable(), input: CreateWorkloadBody }),
  z.object({ name: z.literal('UpdateWorkload'), workloadId: Id, input: UpdateWorkloadBody }),
  z.object({ name: z.literal('DeleteWorkload'), workloadId: Id }),
  z.object({ name: z.literal('StartWorkload'), workloadId: Id }),
  z.object({ name: z.literal('StopWorkload'), workloadId: Id }),
  z.object({
    name: z.literal('ResetStats'),
    workloadId: Id,
    protonId: z.string().max(64).nullable(),
    startTime: IsoTime.nullable(),
    endTime: IsoTime.nullable(),
  }),
  /** `replacementId` and `candidateProtonId` are chosen by the gateway so a retried request (Idempotency-Key) names the same ones. */
  z.object({ name: z.literal('UpdateSettings'), workloadId: Id, replacementId: Id, candidateProtonId: Id, input: UpdateSettingsBody }),
  z.object({ name: z.literal('StartReplacement'), workloadId: Id, replacementId: Id, candidateProtonId: Id, input: StartReplacementBody }),
  z.object({ name: z.literal('CancelReplacement'), workloadId: Id }),
  z.object({ name: z.literal('ResumeReplacement'), workloadId: Id }),
  z.object({ name: z.literal('PromoteArtifact'), workloadId: Id }),
  z.object({ name: z.literal('UpdateSharedRoles'), workloadId: Id, input: UpdateSharedRolesBody }),
  z.object({ name: z.literal('CreateArtifact'), artifactId: Id, input: InputArtifact }),
  z.object({ name: z.literal('UpdateArtifact'), artifactId: Id, input: PatchArtifactBody }),
  z.object({ name: z.literal('DeleteArtifact'), artifactId: Id }),
  z.object({ name: z.literal('CreateUser'), userId: Id, tokenHash: z.string(), input: CreateUserBody }),
  z.object({ name: z.literal('UpdateUser'), userId: Id, input: UpdateUserBody }),
  z.object({ name: z.literal('CreateGroup'), groupId: Id, input: CreateGroupBody }),
  z.object({ name: z.literal('CreateOrg'), orgId: Id, input: CreateOrgBody }),
]);
export type CommandBody = z.infer<typeof CommandBody>;
export type CommandName = CommandBody['name'];

/**
 * An Idempotency-Key the command was sent under: the service claims `keyId` for `fingerprint`
 * (the request it first came with) for `ttlMs`, and refuses the command while the key is held
 * for another request. Shared by every gateway, since the claim is stored by the service.
 */
export const IdempotencyClaim = z.object({ keyId: z.string().min(8).max(128), fingerprint: z.string().min(8).max(128), ttlMs: z.int().min(1000).max(30 * 86_400_000) });
export type IdempotencyClaim = z.infer<typeof IdempotencyClaim>;

export const CommandEnvelope = z.object({
  type: z.literal('command'),
  schemaVersion: z.literal(1),
  commandId: z.string().min(8).max(128),
  correlationId: z.string().min(8).max(128),
  /** Partition key: the id of the aggregate the command targets. */
  key: z.string(),
  actor: Actor,
  issuedAt: IsoTime,
  command: CommandBody,
  idempotency: IdempotencyClaim.optional(),
});
export type CommandEnvelope = z.infer<typeof CommandEnvelope>;

export const CommandOutcome = z.discriminatedUnion('ok', [
  z.object({ ok: z.literal(true), value: z.unknown() }),
  z.object({ ok: z.literal(false), error: DomainError }),
]);
export type CommandOutcome = z.infer<typeof CommandOutcome>;

/** Reply on `workload.command-results.v1`, keyed and matched by `correlationId`. */
export const CommandResult = z.object({
  type: z.literal('command-result'),
  schemaVersion: z.literal(1),
  commandId: z.string(),
  correlationId: z.string(),
  /** True when this outcome was replayed for a redelivered command instead of decided anew. */
  duplicate: z.boolean().default(false),
  outcome: CommandOutcome,
});
export type CommandResult = z.infer<typeof CommandResult>;
