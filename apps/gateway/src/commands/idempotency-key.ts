import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import type { IdempotencyClaim } from '@wcp/contracts';
import { createHash } from 'node:crypto';
import type { AuthedRequest } from '../auth/auth.guard';
import { ApiError } from '../http/api-error';

/** How long a key names its first request (spec §1: "keys expire after a documented TTL"). */
export const IDEMPOTENCY_KEY_TTL_HOURS = 24;
export const IDEMPOTENCY_KEY_MAX_LENGTH = 255;
/** Printable ASCII, no spaces at either end (HTTP trims them anyway). */
export const IDEMPOTENCY_KEY_PATTERN = /^[!-~]([ -~]*[!-~])?$/;

/** A mutating request that named an Idempotency-Key: the key's id and the request's fingerprint. */
export interface IdempotentRequest extends IdempotencyClaim {
  key: string;
}

/**
 * The Idempotency-Key of a mutating request, validated (422), scoped to the caller and bound to
 * the request it first came with: its fingerprint hashes the method, the request target (path
 * without a trailing slash, and the query as sent) and the JSON body with its keys sorted, so a
 * reordered body is the same request and any other change is another.
 */
export const Idempotency = createParamDecorator((_: unknown, context: ExecutionContext): IdempotentRequest | undefined => {
  const request = context.switchToHttp().getRequest<AuthedRequest>();
  const header = request.headers['idempotency-key'];
  if (header === undefined) return undefined;
  const key = Array.isArray(header) ? header.join(', ') : header;
  if (key.length === 0 || key.length > IDEMPOTENCY_KEY_MAX_LENGTH || !IDEMPOTENCY_KEY_PATTERN.test(key)) {
    throw new ApiError(422, [{ loc: ['header', 'Idempotency-Key'], msg: `must be 1..${IDEMPOTENCY_KEY_MAX_LENGTH} printable ASCII characters`, type: 'string_pattern_mismatch' }]);
  }
  const [path, query] = request.url.split('?', 2);
  const target = (path.length > 1 ? path.replace(/\/+$/, '') : path) + (query ? `?${query}` : '');
  return {
    key,
    keyId: sha256(`${request.actor.id}\u0000${key}`).slice(0, 32),
    fingerprint: sha256(`${request.method}\u0000${target}\u0000${canonicalJson(request.body ?? null)}`),
    ttlMs: IDEMPOTENCY_KEY_TTL_HOURS * 3_600_000,
  };
});

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** JSON with object keys sorted at every depth. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
