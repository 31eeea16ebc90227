import { Actor, domainError, DomainError, Permission, ShareRole } from '@wcp/contracts';

/**
 * The permission table of the spec (§2 Shared role), the one place it is written down. Roles
 * are nested (CONSUMER ⊂ USER ⊂ OWNER), so "the strongest role wins" and "the union of the
 * permissions" are the same thing; admins act as owners of every workload.
 */
export const ROLE_PERMISSIONS: Readonly<Record<ShareRole, readonly Permission[]>> = {
  OWNER: ['CAN_VIEW', 'CAN_READ_DETAILS', 'CAN_INVOKE', 'CAN_UPDATE', 'CAN_DELETE', 'CAN_SHARE'],
  USER: ['CAN_VIEW', 'CAN_READ_DETAILS', 'CAN_INVOKE'],
  CONSUMER: ['CAN_VIEW', 'CAN_INVOKE'],
};

/** Strongest first. */
export const ROLE_ORDER: readonly ShareRole[] = ['OWNER', 'USER', 'CONSUMER'];

/** Principal id (user, group or organization) → its role on one workload. */
export type Grants = Readonly<Record<string, ShareRole>>;

export type Principal = Pick<Actor, 'id' | 'isAdmin' | 'groupIds' | 'orgId'>;

/** Every id a caller acts as: itself, its groups, its organization. */
export function principalIds(actor: Principal): string[] {
  return [actor.id, ...actor.groupIds, ...(actor.orgId ? [actor.orgId] : [])];
}

/** The strongest of the caller's direct, group and organization roles; admins are owners. */
export function effectiveRole(grants: Grants, actor: Principal): ShareRole | null {
  if (actor.isAdmin) return 'OWNER';
  let best: ShareRole | null = null;
  for (const principal of principalIds(actor)) {
    const role = grants[principal];
    if (role && (best === null || ROLE_ORDER.indexOf(role) < ROLE_ORDER.indexOf(best))) best = role;
  }
  return best;
}

/** What `permissions` on a workload shows the caller: exactly what `accessRefusal` lets through. */
export function permissionsOf(grants: Grants, actor: Principal): Permission[] {
  const role = effectiveRole(grants, actor);
  return role ? [...ROLE_PERMISSIONS[role]] : [];
}

export function workloadNotFound(workloadId: string): DomainError {
  return domainError('not_found', 'WORKLOAD_NOT_FOUND', `Workload ${workloadId} was not found.`);
}

/**
 * The one access rule, asked by the gateway for every route and again by commands and queries:
 * a caller who may not see the workload gets the same 404 as for a missing one (no existence
 * leak); one who sees it without `needed` gets 403 naming the permission.
 */
export function accessRefusal(grants: Grants, actor: Principal, needed: Permission, workloadId: string): DomainError | null {
  const role = effectiveRole(grants, actor);
  if (role === null) return workloadNotFound(workloadId);
  if (!ROLE_PERMISSIONS[role].includes(needed)) {
    return domainError('forbidden', 'WORKLOAD_FORBIDDEN', `You do not have the ${needed} permission on workload ${workloadId} (your role: ${role}).`);
  }
  return null;
}
