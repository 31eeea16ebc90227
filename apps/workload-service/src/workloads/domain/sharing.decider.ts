import { Actor, domainError, DomainError, SharedRoleDto, ShareRole } from '@wcp/contracts';
import { Decision, requireAccess, WorkloadState } from './workload.decider';
import type { WorkloadEvent } from './workload.events';

/** One entry of a `PATCH sharedRoles`, its recipient looked up (it exists, its name is known). */
export interface ResolvedRecipient extends Omit<SharedRoleDto, 'role'> {
  role: ShareRole | 'NO_ROLE';
}

/**
 * Replace semantics: the recipients afterwards are exactly `recipients` without the `NO_ROLE`
 * ones. Needs CAN_SHARE, checked first, so only a caller allowed to share learns that a
 * recipient (`recipients` is the lookup's refusal then) does not exist. The same recipient twice
 * (an id and a username of one user) and a list without an OWNER are refused with the entry's
 * `loc`, so nothing is half applied.
 */
export function decideShareRoles(state: WorkloadState, actor: Actor, workloadId: string, recipients: ResolvedRecipient[] | DomainError): Decision<WorkloadEvent> | DomainError {
  const w = requireAccess(state, actor, 'CAN_SHARE', workloadId);
  if ('code' in w) return w;
  if ('code' in recipients) return recipients;
  const seen = new Map<string, number>();
  for (const [index, r] of recipients.entries()) {
    const first = seen.get(r.id);
    if (first !== undefined) return domainError('validation', 'DUPLICATE_RECIPIENT', `roles[${index}] names the same ${r.shareRecipientType} as roles[${first}] (${r.name}).`, ['body', 'roles', index]);
    seen.set(r.id, index);
  }
  const after: SharedRoleDto[] = recipients.flatMap((r) => (r.role === 'NO_ROLE' ? [] : [{ id: r.id, name: r.name, shareRecipientType: r.shareRecipientType, role: r.role }]));
  if (!after.some((r) => r.role === 'OWNER')) {
    return domainError('validation', 'OWNER_REQUIRED', 'A workload must keep at least one OWNER; include one in roles.', ['body', 'roles']);
  }
  if (JSON.stringify(after) === JSON.stringify(w.sharedRoles)) return { events: [], result: { accepted: false, message: 'Shared roles unchanged.' } };
  return {
    events: [{ type: 'workload.shared-roles-updated', schemaVersion: 1, data: { before: w.sharedRoles, after, updatedBy: { id: actor.id, username: actor.username } } }],
    result: { accepted: true, message: 'Shared roles updated.' },
  };
}
