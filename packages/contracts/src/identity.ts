import { z } from 'zod';
import { Id } from './ids';

export const CreateUserBody = z.strictObject({
  username: z.string().trim().min(1).max(64).regex(/^[A-Za-z0-9._@-]+$/, 'may contain letters, digits and . _ @ -'),
  fullName: z.string().max(256).nullish(),
  orgId: z.string().max(64).nullish(),
  groupIds: z.array(Id).max(100).default([]),
});
export type CreateUserBody = z.output<typeof CreateUserBody>;

export const CreateGroupBody = z.strictObject({ name: z.string().trim().min(1).max(128) });
export type CreateGroupBody = z.output<typeof CreateGroupBody>;

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
