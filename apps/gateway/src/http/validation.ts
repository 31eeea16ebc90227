import { z } from 'zod';
import { ApiError, ValidationDetail } from './api-error';

/** Zod issues in the API's 422 shape: `loc` from the request part, pydantic-style `type` names. */
export function toValidationDetails(error: z.ZodError, root: 'body' | 'query' | 'path'): ValidationDetail[] {
  return error.issues.flatMap((issue): ValidationDetail[] => {
    const loc = [root, ...issue.path.map((p) => (typeof p === 'number' ? p : String(p)))];
    switch (issue.code) {
      case 'unrecognized_keys':
        return issue.keys.map((key) => ({ loc: [...loc, key], msg: 'Extra inputs are not permitted', type: 'extra_forbidden' }));
      case 'invalid_type':
        if (issue.input === undefined) return [{ loc, msg: 'Field required', type: 'missing' }];
        return [{ loc, msg: `Input should be a valid ${issue.expected}`, type: `${issue.expected === 'number' && /int/.test(issue.message) ? 'int' : issue.expected}_type` }];
      case 'too_small':
        return [{ loc, msg: issue.message, type: issue.origin === 'string' ? 'string_too_short' : issue.origin === 'array' ? 'too_short' : 'greater_than_equal' }];
      case 'too_big':
        return [{ loc, msg: issue.message, type: issue.origin === 'string' ? 'string_too_long' : issue.origin === 'array' ? 'too_long' : 'less_than_equal' }];
      case 'invalid_value':
        if (issue.input === undefined) return [{ loc, msg: 'Field required', type: 'missing' }];
        return [{ loc, msg: `Input should be ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`, type: issue.values.length > 1 ? 'enum' : 'literal_error' }];
      case 'invalid_format':
        return [{ loc, msg: issue.message, type: 'string_pattern_mismatch' }];
      case 'invalid_union':
        return [{ loc, msg: issue.message, type: 'union_error' }];
      default:
        return [{ loc, msg: issue.message, type: 'value_error' }];
    }
  });
}

export function parseOr422<T extends z.ZodType>(schema: T, value: unknown, root: 'body' | 'query' | 'path'): z.output<T> {
  const result = schema.safeParse(value ?? (root === 'body' ? undefined : {}));
  if (result.success) return result.data;
  throw new ApiError(422, toValidationDetails(result.error, root));
}

/** Routes without query parameters still refuse unknown ones (422 extra_forbidden). */
export const NoQuery = z.strictObject({});

/**
 * `?a=1&a=2` and `?a=1,2` both give `["1","2"]`. Each item is checked as sent: an empty one
 * (`?status=`, `?status=draft,`) or one with spaces is refused like any value outside the
 * item's schema, as the OpenAPI document states it.
 */
export const QueryArrayOf = <T extends z.ZodType>(item: T) =>
  z.preprocess((v) => (v === undefined ? undefined : (Array.isArray(v) ? v : [v]).flatMap((s) => String(s).split(','))), z.array(item).optional());

/** A text item of an array query parameter: non-empty, and no comma, since a comma separates items. */
export const QueryItem = (max: number) => z.string().max(max).regex(/^[^,]+$/, 'must be non-empty and without a comma (a comma separates items)');

/** A single-valued query parameter: the last one wins when repeated. */
export const QueryString = (max: number) => z.preprocess((v) => (Array.isArray(v) ? v[v.length - 1] : v), z.string().max(max).optional());

/** An empty value (`?offset=`) is not 0: it is refused, as any other non-number. */
export const QueryInt = (min: number, max: number, fallback: number) =>
  z.preprocess((v) => {
    const value = Array.isArray(v) ? v[v.length - 1] : v;
    return typeof value === 'string' && value.trim() === '' ? Number.NaN : value;
  }, z.coerce.number().int().min(min).max(max).default(fallback));

export const Paging = { offset: QueryInt(0, Number.MAX_SAFE_INTEGER, 0), limit: QueryInt(1, 100, 10) };

/** A list route's query when it takes nothing but paging. */
export const PagingQuery = z.strictObject(Paging);

export const QueryBool = z.preprocess((v) => (Array.isArray(v) ? v[v.length - 1] : v), z.enum(['true', 'false']).optional()).transform((v) => v === 'true');

/** Action routes (`POST …/resume`, `POST …/promote`) take no body; `{}` is accepted too, anything else is 422. */
export const EmptyBody = z.strictObject({}).optional();
