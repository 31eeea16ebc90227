/** Events of the `user-<id>`, `username-<name>`, `group-<id>` and `org-<id>` streams. */
export type IdentityEvent =
  | {
      type: 'user.created';
      schemaVersion: 1;
      data: { userId: string; username: string; fullName: string | null; orgId: string | null; groupIds: string[]; isAdmin: boolean; tokenHash: string; createdAt: string };
    }
  | { type: 'user.token-changed'; schemaVersion: 1; data: { tokenHash: string } }
  /** Only the fields given change; `groupIds` replaces the memberships. */
  | { type: 'user.updated'; schemaVersion: 1; data: { changes: { fullName?: string | null; orgId?: string | null; groupIds?: string[] } } }
  | { type: 'username.claimed'; schemaVersion: 1; data: { userId: string } }
  | { type: 'group.created'; schemaVersion: 1; data: { groupId: string; name: string; createdAt: string } }
  | { type: 'org.created'; schemaVersion: 1; data: { orgId: string; name: string; createdAt: string } };
