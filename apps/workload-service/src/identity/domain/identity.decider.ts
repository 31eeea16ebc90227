import { Actor, domainError, DomainError } from '@wcp/contracts';
import type { IdentityEvent } from './identity.events';

export interface ClaimState {
  version: number;
  userId: string | null;
}

export const initialClaim: ClaimState = { version: 0, userId: null };

export function evolveClaim(state: ClaimState, event: IdentityEvent): ClaimState {
  return event.type === 'username.claimed' ? { version: state.version + 1, userId: event.data.userId } : { ...state, version: state.version + 1 };
}

export function requireAdmin(actor: Actor | null): DomainError | null {
  return actor && !actor.isAdmin ? domainError('forbidden', 'ADMIN_REQUIRED', 'Only administrators can manage users, groups and organizations.') : null;
}

/** A username stream holds one claim; its optimistic concurrency makes usernames unique. */
export function decideClaim(state: ClaimState, username: string, userId: string): IdentityEvent[] | DomainError {
  if (state.userId === userId) return [];
  if (state.userId !== null) return domainError('conflict', 'USERNAME_TAKEN', `Username '${username}' is already taken.`);
  return [{ type: 'username.claimed', schemaVersion: 1, data: { userId } }];
}

export interface UserState {
  version: number;
  exists: boolean;
}

export const initialUser: UserState = { version: 0, exists: false };

/** The state of a user, group or organization stream: does it exist. */
export function evolveUser(state: UserState, event: IdentityEvent): UserState {
  return { version: state.version + 1, exists: state.exists || event.type === 'user.created' || event.type === 'group.created' || event.type === 'org.created' };
}

export function decideUpdateUser(state: UserState, userId: string, changes: Extract<IdentityEvent, { type: 'user.updated' }>['data']['changes']): { events: IdentityEvent[]; result: null } | DomainError {
  if (!state.exists) return domainError('not_found', 'USER_NOT_FOUND', `User ${userId} was not found.`);
  if (Object.keys(changes).length === 0) return { events: [], result: null };
  return { events: [{ type: 'user.updated', schemaVersion: 1, data: { changes } }], result: null };
}
