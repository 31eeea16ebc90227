/**
 * Where secrets can sit in what the services log: request/response headers (Authorization,
 * cookies, the metrics token), and any field named like a token or password, at the top level or
 * one object deep (pino's redaction wildcards match one level each). Paths are pino `redact`
 * paths.
 */
const SECRET_KEYS = ['authorization', 'cookie', 'set-cookie', 'token', 'apiToken', 'accessToken', 'tokenHash', 'password', 'secret'];

const CONFIG_SECRETS = ['BOOTSTRAP_API_TOKEN', 'METRICS_TOKEN', 'CLICKHOUSE_PASSWORD'];

/** `.key`, or `["set-cookie"]` for a key that is not an identifier. */
const step = (key: string) => (/^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `["${key}"]`);

export const REDACT_PATHS: string[] = [
  ...[...SECRET_KEYS, ...CONFIG_SECRETS].flatMap((k) => [step(k).replace(/^\./, ''), `*${step(k)}`]),
  ...['req', 'res', 'request', 'response'].flatMap((o) => SECRET_KEYS.map((k) => `${o}.headers${step(k)}`)),
];

export const REDACTED = '[redacted]';

/**
 * Strings are not structure: a message that quotes a header (an error from a client library, a
 * stack) may hold a bearer token. The token is never kept, only the scheme.
 */
const BEARER = /\b(Bearer)\s+[A-Za-z0-9._~+/=-]+/gi;

export function scrubSecrets(text: string): string {
  return text.includes('earer') || text.includes('EARER') ? text.replace(BEARER, `$1 ${REDACTED}`) : text;
}
