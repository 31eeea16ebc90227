import { Grants, permissionsOf, principalIds } from '@wcp/access';
import type { Actor, ShareRole, WorkloadDto } from '@wcp/contracts';
import { grantsOf } from '../domain/workload.decider';
import type { Filter } from '../../read-models/read-model-store';
import type { WorkloadDoc } from '../projections/workload.projection';

type LegacyDoc = { roles?: Array<{ principalId: string; role: ShareRole }> };

/** Read models written before sharing kept `roles: [{principalId, role}]`; both read the same. */
export function rolesOf(doc: Pick<WorkloadDoc, 'sharedRoles'> & LegacyDoc): Grants {
  return doc.sharedRoles ? grantsOf(doc.sharedRoles) : Object.fromEntries((doc.roles ?? []).map((r) => [r.principalId, r.role]));
}

/**
 * The Workload resource for one caller. `endpoint` is a path here; the gateway, which knows
 * the public base URL, makes it absolute.
 */
export function renderWorkload(doc: WorkloadDoc, actor: Actor): WorkloadDto {
  return {
    id: doc._id,
    name: doc.name,
    description: doc.description,
    createdAt: doc.createdAt,
    updatedAt: doc.updatedAt,
    creator: doc.creator,
    owners: doc.owners,
    permissions: permissionsOf(rolesOf(doc), actor),
    status: doc.status,
    importance: doc.importance as WorkloadDto['importance'],
    type: 'service',
    artifactId: doc.artifactId,
    artifact: doc.artifact,
    protonId: doc.protonId,
    endpoint: `/api/v2/endpoints/workloads/${doc._id}/`,
    runtime: doc.runtime,
    replacement: doc.replacement ?? null,
    requestStats: null,
    lastResponse: doc.lastResponse ?? null,
    tags: doc.tags,
  };
}

/** Filter of the workloads an actor may see at all. */
export function visibleTo(actor: Actor): Filter {
  if (actor.isAdmin) return {};
  return { principals: { $in: principalIds(actor) } };
}
