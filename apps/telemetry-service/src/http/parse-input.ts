import type { z } from 'zod';
import { domainError, type DomainError } from '@wcp/contracts';

/** Parses `input` or returns a validation error naming the first bad field under `where`. */
export function parseInput<T extends z.ZodType>(schema: T, input: unknown, where: 'query' | 'body' | 'path'): z.output<T> | DomainError {
  const result = schema.safeParse(input ?? {});
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const loc = [where, ...issue.path.map((p) => (typeof p === 'number' ? p : String(p)))];
  const type = issue.code === 'unrecognized_keys' ? 'extra_forbidden' : issue.code;
  const message = issue.code === 'unrecognized_keys' ? `unknown field(s): ${issue.keys.join(', ')}` : issue.message;
  return domainError('validation', `INVALID_${where.toUpperCase()}`, `${loc.join('.')}: ${message} (${type})`, loc);
}
