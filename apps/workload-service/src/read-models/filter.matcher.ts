import type { Doc, FieldCondition, Filter, FindOptions, Scalar } from './read-model-store';

/**
 * Reference semantics of the read-model filter subset, with MongoDB's rules that matter here:
 * a dotted path through an array matches if any element matches; equality against an array
 * field matches any element.
 */
export function matches(doc: Doc, filter: Filter): boolean {
  for (const [key, condition] of Object.entries(filter)) {
    if (key === '$or') {
      if (!(condition as Filter[]).some((f) => matches(doc, f))) return false;
    } else if (key === '$and') {
      if (!(condition as Filter[]).every((f) => matches(doc, f))) return false;
    } else if (!matchField(valuesAt(doc, key.split('.')), condition as FieldCondition)) {
      return false;
    }
  }
  return true;
}

function valuesAt(value: unknown, path: string[]): unknown[] {
  if (path.length === 0) return Array.isArray(value) ? [value, ...value] : [value];
  if (Array.isArray(value)) return value.flatMap((v) => valuesAt(v, path));
  if (value === null || typeof value !== 'object') return [];
  const next = (value as Record<string, unknown>)[path[0]];
  return next === undefined ? [] : valuesAt(next, path.slice(1));
}

function matchField(values: unknown[], condition: FieldCondition): boolean {
  if (condition === null || typeof condition !== 'object') {
    return condition === null ? values.length === 0 || values.some((v) => v === null) : values.some((v) => v === condition);
  }
  if ('$in' in condition) return values.some((v) => condition.$in.includes(v as Scalar));
  if ('$nin' in condition) return !values.some((v) => condition.$nin.includes(v as Scalar));
  if ('$ne' in condition) return !values.some((v) => v === condition.$ne);
  if ('$regex' in condition) {
    const re = new RegExp(condition.$regex, condition.$options ?? '');
    return values.some((v) => typeof v === 'string' && re.test(v));
  }
  if ('$exists' in condition) return (values.length > 0) === condition.$exists;
  if ('$gt' in condition) return values.some((v) => compare(v, condition.$gt) > 0);
  if ('$gte' in condition) return values.some((v) => compare(v, condition.$gte) >= 0);
  if ('$lt' in condition) return values.some((v) => compare(v, condition.$lt) < 0);
  if ('$lte' in condition) return values.some((v) => compare(v, condition.$lte) <= 0);
  throw new Error(`unsupported filter condition ${JSON.stringify(condition)}`);
}

function compare(a: unknown, b: unknown): number {
  if (a === b) return 0;
  if (a === null || a === undefined) return -1;
  if (b === null || b === undefined) return 1;
  return (a as number | string) < (b as number | string) ? -1 : 1;
}

export function sortAndPage<T extends Doc>(docs: T[], options: FindOptions = {}): T[] {
  const sorted = options.sort?.length
    ? [...docs].sort((x, y) => {
        for (const [field, direction] of options.sort!) {
          const c = compare(valuesAt(x, field.split('.'))[0], valuesAt(y, field.split('.'))[0]);
          if (c !== 0) return c * direction;
        }
        return 0;
      })
    : docs;
  const skip = options.skip ?? 0;
  return sorted.slice(skip, options.limit === undefined ? undefined : skip + options.limit);
}
