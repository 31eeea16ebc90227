import { z } from 'zod';
import { Id } from './ids';
import { SHARE_ROLES, ShareRole } from './workload';

export const SHARE_RECIPIENT_TYPES = ['user', 'group', 'organization'] as const;
export type ShareRecipientType = (typeof SHARE_RECIPIENT_TYPES)[number];

/** Input roles are case-insensitive; `NO_ROLE` in a PATCH removes the recipient. */
const RoleInput = z.preprocess((v) => (typeof v === 'string' ? v.trim().toUpperCase() : v), z.enum([...SHARE_ROLES, 'NO_ROLE']));

/** One recipient of a `PATCH sharedRoles`: by `id`, or a user by `username`. */
export const SharedRoleInput = z
  .strictObject({
    shareRecipientType: z.enum(SHARE_RECIPIENT_TYPES),
    role: RoleInput,
    id: Id.optional(),
    username: z.string().trim().min(1).max(64).optional(),
  })
  .superRefine((entry, ctx) => {
    if (entry.username !== undefined && entry.shareRecipientType !== 'user') {
      ctx.addIssue({ code: 'custom', path: ['username'], message: 'only a user recipient can be named by username; give the id of a group or organization' });
    } else if ((entry.id === undefined) === (entry.username === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['id'], message: 'give exactly one of id or username' });
    }
  });
export type SharedRoleInput = z.output<typeof SharedRoleInput>;

/** `PATCH /workloads/{id}/sharedRoles`: the list after it is exactly `roles` without the `NO_ROLE` entries. */
export const UpdateSharedRolesBody = z
  .strictObject({
    operation: z.literal('updateRoles'),
    roles: z.array(SharedRoleInput).min(1).max(100),
  })
  .superRefine((body, ctx) => {
    const seen = new Map<string, number>();
    body.roles.forEach((entry, index) => {
      const key = entry.id !== undefined ? `${entry.shareRecipientType}:${entry.id}` : `user@${entry.username?.toLowerCase()}`;
      const first = seen.get(key);
      if (first !== undefined) ctx.addIssue({ code: 'custom', path: ['roles', index], message: `the same recipient as roles[${first}]; name each recipient once` });
      else seen.set(key, index);
    });
  });
export type UpdateSharedRolesBody = z.output<typeof UpdateSharedRolesBody>;

/** A recipient's role on a workload, as stored in events and shown by `GET sharedRoles`. */
export interface SharedRoleDto {
  id: string;
  name: string;
  shareRecipientType: ShareRecipientType;
  role: ShareRole;
}
