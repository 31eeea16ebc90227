import { Inject, Injectable } from '@nestjs/common';
import { domainError, DomainError, SharedRoleInput } from '@wcp/contracts';
import { READ_MODEL_STORE, ReadModelStore } from '../read-models/read-model-store';
import type { ResolvedRecipient } from '../workloads/domain/sharing.decider';
import { GROUPS, GroupDoc, ORGS, USERS, UserDoc } from './projections/identity.projection';
import { IdentityQueries } from './identity.queries';

const COLLECTION = { user: USERS, group: GROUPS, organization: ORGS } as const;
const LABEL = { user: 'User', group: 'Group', organization: 'Organization' } as const;

/**
 * Looks principals up before a command names them, so a membership or a share never points at
 * nothing: an unknown one is a 404 naming it, and nothing is written. Reads by `_id` (pushed
 * down by every MongoDB-wire server), except a user named by username.
 */
@Injectable()
export class PrincipalDirectory {
  constructor(@Inject(READ_MODEL_STORE) private readonly store: ReadModelStore, private readonly identity: IdentityQueries) {}

  /** The organization and groups a user is put in exist. */
  async checkMemberships(orgId: string | null | undefined, groupIds: readonly string[] | undefined): Promise<DomainError | null> {
    if (orgId && !(await this.store.get(ORGS, orgId))) return unknown('organization', orgId, ['body', 'orgId']);
    for (const [index, groupId] of (groupIds ?? []).entries()) {
      if (!(await this.store.get(GROUPS, groupId))) return unknown('group', groupId, ['body', 'groupIds', index]);
    }
    return null;
  }

  /** Every recipient of a `PATCH sharedRoles`, with its id and display name, in the order given. */
  async resolve(entries: readonly SharedRoleInput[]): Promise<ResolvedRecipient[] | DomainError> {
    const resolved: ResolvedRecipient[] = [];
    for (const [index, entry] of entries.entries()) {
      const loc = ['body', 'roles', index];
      const type = entry.shareRecipientType;
      if (entry.id === undefined) {
        const user = await this.identity.byUsername(entry.username ?? '');
        if (!user) return domainError('not_found', 'USER_NOT_FOUND', `User '${entry.username}' was not found.`, loc);
        resolved.push({ id: user._id, name: user.username, shareRecipientType: 'user', role: entry.role });
        continue;
      }
      const doc = await this.store.get<UserDoc | GroupDoc>(COLLECTION[type], entry.id);
      if (!doc) return unknown(type, entry.id, loc);
      resolved.push({ id: entry.id, name: type === 'user' ? (doc as UserDoc).username : (doc as GroupDoc).name, shareRecipientType: type, role: entry.role });
    }
    return resolved;
  }
}

function unknown(type: keyof typeof LABEL, id: string, loc: Array<string | number>): DomainError {
  const code = type === 'organization' ? 'ORGANIZATION_NOT_FOUND' : `${type.toUpperCase()}_NOT_FOUND`;
  return domainError('not_found', code, `${LABEL[type]} ${id} was not found.`, loc);
}
