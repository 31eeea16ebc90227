import { z } from 'zod';

/**
 * How a refusal is classified. Only the gateway turns a kind into an HTTP status; services
 * and the domain speak in kinds and stable codes.
 */
/** `internal`: a defect on our side (a command that always throws); the caller gets 500 with the command id. */
export const ErrorKind = z.enum(['validation', 'bad_request', 'not_found', 'conflict', 'forbidden', 'unavailable', 'bad_gateway', 'timeout', 'internal']);
export type ErrorKind = z.infer<typeof ErrorKind>;

/**
 * The one mapping of kinds to HTTP statuses, used by the gateway for the public API and by the
 * services' internal APIs (whose statuses the gateway reads only as "refused").
 */
export const HTTP_STATUS_OF_KIND: Record<ErrorKind, number> = {
  validation: 422,
  bad_request: 400,
  not_found: 404,
  conflict: 409,
  forbidden: 403,
  unavailable: 503,
  bad_gateway: 502,
  timeout: 504,
  internal: 500,
};

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
