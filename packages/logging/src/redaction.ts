/**
 * Where secrets can sit in what the services log: request/response headers (Authorization,
 * cookies, the metrics token), and any field named like a token or password, at the top level or
 * one object deep.
 */
const SECRET_KEYS = ['authorization', 'cookie', 'set-cookie', 'token', 'apiToken', 'accessToken', 'tokenHash', 'password', 'secret'];

const CONFIG_SECRETS = ['BOOTSTRAP_API_TOKEN', 'METRICS_TOKEN', 'CLICKHOUSE_PASSWORD'];

const SECRET = new Set([...SECRET_KEYS, ...CONFIG_SECRETS]);
const HEADER_HOLDERS = new Set(['req', 'res', 'request', 'response']);
const HEADER_SECRETS = new Set(SECRET_KEYS);

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** `fields` with the secrets of `secret` censored; the same object when it holds none (copy on write). */
function censor(fields: Record<string, unknown>, secret: ReadonlySet<string>, deeper: (key: string, value: Record<string, unknown>) => Record<string, unknown>): Record<string, unknown> {
  let out: Record<string, unknown> | null = null;
  for (const key in fields) {
    const value = fields[key];
    const next = secret.has(key) && value !== undefined ? REDACTED : isObject(value) ? deeper(key, value) : value;
    if (next !== value) (out ??= { ...fields })[key] = next;
  }
  return out ?? fields;
}

/**
 * What a log line may show of `fields`: secrets at the top level and one object deep, and in
 * `req`/`res`/`request`/`response` `.headers`, censored. Pino's own `redact` did this with
 * wildcard paths at 17 µs a line (60 paths; 1.9 µs without); this walks only the keys the line
 * has, and copies only what it changes (the caller's object is never touched).
 */
export function redactSecrets(fields: Record<string, unknown>): Record<string, unknown> {
  return censor(fields, SECRET, (key, value) =>
    censor(value, SECRET, (inner, nested) => (HEADER_HOLDERS.has(key) && inner === 'headers' ? censor(nested, HEADER_SECRETS, (_k, v) => v) : nested)),
  );
}

export const REDACTED = '[redacted]';

/**
 * Strings are not structure: a message that quotes a header (an error from a client library, a
 * stack) may hold a bearer token. The token is never kept, only the scheme.
 */
const BEARER = /\b(Bearer)\s+[A-Za-z0-9._~+/=-]+/gi;

export function scrubSecrets(text: string): string {
  return text.includes('earer') || text.includes('EARER') ? text.replace(BEARER, `$1 ${REDACTED}`) : text;
}
