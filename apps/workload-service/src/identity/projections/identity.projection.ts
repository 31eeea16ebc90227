import { Inject, Injectable } from '@nestjs/common';
import type { Projection } from '../../event-store/commit.pipeline';
import type { StoredEvent } from '../../event-store/event-store';
import { READ_MODEL_STORE, ReadModelStore } from '../../read-models/read-model-store';
import type { IdentityEvent } from '../domain/identity.events';

export interface UserDoc {
  _id: string;
  username: string;
  usernameLower: string;
  fullName: string | null;
  orgId: string | null;
  groupIds: string[];
  isAdmin: boolean;
  /** SHA-256 of the API token; the token itself is never stored. */
  tokenHash: string;
  createdAt: string;
  [key: string]: unknown;
}

export interface GroupDoc {
  _id: string;
  name: string;
  createdAt: string;
  [key: string]: unknown;
}

/** A group or an organization (the same shape, two collections). */
export type OrgDoc = GroupDoc;

export const USERS = 'users';
export const GROUPS = 'groups';
export const ORGS = 'orgs';

@Injectable()
export class IdentityProjection implements Projection {
  readonly collections = [USERS, GROUPS, ORGS];

  constructor(@Inject(READ_MODEL_STORE) private readonly store: ReadModelStore) {}

  async init(): Promise<void> {
    await this.store.ensureIndexes(USERS, [{ tokenHash: 1 }, { usernameLower: 1 }]);
  }

  async apply(stored: StoredEvent): Promise<void> {
    const event = stored as unknown as IdentityEvent;
    if (event.type === 'user.created') {
      const d = event.data;
      const doc: UserDoc = {
        _id: d.userId,
        username: d.username,
        usernameLower: d.username.toLowerCase(),
        fullName: d.fullName,
        orgId: d.orgId,
        groupIds: d.groupIds,
        isAdmin: d.isAdmin,
        tokenHash: d.tokenHash,
        createdAt: d.createdAt,
      };
      await this.store.put(USERS, doc);
    } else if (event.type === 'user.token-changed') {
      const user = await this.store.get<UserDoc>(USERS, stored.streamId.slice('user-'.length));
      if (user) await this.store.put(USERS, { ...user, tokenHash: event.data.tokenHash });
    } else if (event.type === 'user.updated') {
      const user = await this.store.get<UserDoc>(USERS, stored.streamId.slice('user-'.length));
      const c = event.data.changes;
      if (user) await this.store.put(USERS, { ...user, ...Object.fromEntries(Object.entries(c).filter(([, v]) => v !== undefined)) });
    } else if (event.type === 'group.created') {
      await this.store.put(GROUPS, { _id: event.data.groupId, name: event.data.name, createdAt: event.data.createdAt });
    } else if (event.type === 'org.created') {
      await this.store.put(ORGS, { _id: event.data.orgId, name: event.data.name, createdAt: event.data.createdAt });
    }
  }
}
