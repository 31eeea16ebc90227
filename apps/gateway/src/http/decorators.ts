import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import { Id } from '@wcp/contracts';
import type { Actor } from '@wcp/contracts';
import type { AuthedRequest } from '../auth/auth.guard';
import { ApiError } from './api-error';

export const CurrentActor = createParamDecorator((_: unknown, context: ExecutionContext): Actor => context.switchToHttp().getRequest<AuthedRequest>().actor);

/** A path id that is not ObjectId-shaped cannot name anything: 404, like an unknown one. */
export function requireId(value: string, what: string): string {
  if (!Id.safeParse(value).success) throw new ApiError(404, `${what} ${value} was not found.`);
  return value;
}
