import { Inject, Injectable } from '@nestjs/common';
import { Actor, PrincipalDto, UserDto } from '@wcp/contracts';
import { READ_MODEL_STORE, ReadModelStore } from '../read-models/read-model-store';
import { GROUPS, GroupDoc, ORGS, USERS, UserDoc } from './projections/identity.projection';

@Injectable()
export class IdentityQueries {
  constructor(@Inject(READ_MODEL_STORE) private readonly store: ReadModelStore) {}

  async actorByTokenHash(tokenHash: string): Promise<Actor | null> {
    const [user] = await this.store.find<UserDoc>(USERS, { tokenHash }, { limit: 1 });
    return user ? { id: user._id, username: user.username, isAdmin: user.isAdmin, groupIds: user.groupIds, orgId: user.orgId } : null;
  }

  async list(offset: number, limit: number): Promise<{ totalCount: number; data: UserDto[] }> {
    const [totalCount, docs] = await Promise.all([
      this.store.count(USERS, {}),
      this.store.find<UserDoc>(USERS, {}, { sort: [['createdAt', 1], ['_id', 1]], skip: offset, limit }),
    ]);
    return { totalCount, data: docs.map(userDto) };
  }

  async user(userId: string): Promise<UserDto | null> {
    const doc = await this.store.get<UserDoc>(USERS, userId);
    return doc ? userDto(doc) : null;
  }

  /** Groups (`kind: groups`) or organizations (`orgs`), oldest first. */
  async principals(kind: 'groups' | 'orgs', offset: number, limit: number): Promise<{ totalCount: number; data: PrincipalDto[] }> {
    const collection = kind === 'groups' ? GROUPS : ORGS;
    const [totalCount, docs] = await Promise.all([
      this.store.count(collection, {}),
      this.store.find<GroupDoc>(collection, {}, { sort: [['createdAt', 1], ['_id', 1]], skip: offset, limit }),
    ]);
    return { totalCount, data: docs.map((d) => ({ id: d._id, name: d.name, createdAt: d.createdAt })) };
  }

  async byUsername(username: string): Promise<UserDoc | null> {
    const [user] = await this.store.find<UserDoc>(USERS, { usernameLower: username.toLowerCase() }, { limit: 1 });
    return user ?? null;
  }
}

function userDto(u: UserDoc): UserDto {
  return { id: u._id, username: u.username, fullName: u.fullName, orgId: u.orgId, groupIds: u.groupIds, isAdmin: u.isAdmin, createdAt: u.createdAt };
}
