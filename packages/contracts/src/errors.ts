import { z } from 'zod';

/**
 * How a refusal is classified. Only the gateway turns a kind into an HTTP status; services
 * and the domain speak in kinds and stable codes.
 */
export const ErrorKind = z.enum([
  'validation', // 422
  'bad_request', // 400
  'not_found', // 404
  'conflict', // 409
  'forbidden', // 403
  'unavailable', // 503
  'bad_gateway', // 502
  'timeout', // 504
]);
export type ErrorKind = z.infer<typeof ErrorKind>;

export const DomainError = z.object({
  code: z.string(),
  kind: ErrorKind,
  message: z.string(),
  /** For validation errors: where in the request the problem is (`["body","name"]`). */
  loc: z.array(z.union([z.string(), z.number()])).optional(),
});
export type DomainError = z.infer<typeof DomainError>;

export function domainError(kind: ErrorKind, code: string, message: string, loc?: (string | number)[]): DomainError {
  return loc ? { kind, code, message, loc } : { kind, code, message };
}

export function isDomainError(value: unknown): value is DomainError {
  return typeof value === 'object' && value !== null && 'kind' in value && 'code' in value && 'message' in value;
}
