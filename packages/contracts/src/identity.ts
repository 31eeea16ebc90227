import { z } from 'zod';
import { Id } from './ids';

export const CreateUserBody = z.strictObject({
  username: z.string().trim().min(1).max(64).regex(/^[A-Za-z0-9._@-]+$/, 'may contain letters, digits and . _ @ -'),
  fullName: z.string().max(256).nullish(),
  /** An organization made by `POST /admin/orgs`; unknown → 404. */
  orgId: Id.nullish(),
  /** Groups made by `POST /admin/groups`; unknown → 404. */
  groupIds: z.array(Id).max(100).default([]),
});
export type CreateUserBody = z.output<typeof CreateUserBody>;

/** `PATCH /admin/users/{id}`: merge; `groupIds` replaces the memberships, `orgId: null` leaves the organization. */
export const UpdateUserBody = z.strictObject({
  fullName: z.string().max(256).nullish(),
  orgId: Id.nullish(),
  groupIds: z.array(Id).max(100).optional(),
});
export type UpdateUserBody = z.output<typeof UpdateUserBody>;

export const CreateGroupBody = z.strictObject({ name: z.string().trim().min(1).max(128) });
export type CreateGroupBody = z.output<typeof CreateGroupBody>;

export const CreateOrgBody = z.strictObject({ name: z.string().trim().min(1).max(128) });
export type CreateOrgBody = z.output<typeof CreateOrgBody>;

/** A group or an organization, as `GET /admin/groups` and `GET /admin/orgs` list them. */
export interface PrincipalDto {
  id: string;
  name: string;
  createdAt: string;
}

/** Who issued a command or query, as the gateway authenticated them. */
export const Actor = z.object({
  id: Id,
  username: z.string(),
  isAdmin: z.boolean(),
  groupIds: z.array(z.string()).default([]),
  orgId: z.string().nullable().default(null),
});
export type Actor = z.infer<typeof Actor>;

export interface UserDto {
  id: string;
  username: string;
  fullName: string | null;
  orgId: string | null;
  groupIds: string[];
  isAdmin: boolean;
  createdAt: string;
}
