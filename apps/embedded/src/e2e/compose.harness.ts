import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';

/**
 * docker-compose.yml read the way `docker compose` reads it: YAML merge keys applied, `${VAR}`
 * interpolated from an environment (the operator's `.env`), environment values as strings.
 * Shared by the unit test (schema and rules) and the e2e test that runs the apps with exactly
 * this environment.
 */
export const REPO_ROOT = resolve(__dirname, '../../../..');

export interface ComposeHealthcheck {
  test: string | string[];
  interval?: string;
  timeout?: string;
  start_period?: string;
  retries?: number;
}

export interface ComposeService {
  image?: string;
  build?: unknown;
  command?: string[];
  environment?: Record<string, string | number | boolean | null>;
  expose?: Array<string | number>;
  ports?: string[];
  volumes?: string[];
  healthcheck?: ComposeHealthcheck;
  depends_on?: Record<string, { condition: string }>;
  stop_grace_period?: string;
  pull_policy?: string;
  [key: string]: unknown;
}

export interface ComposeFile {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
  [key: string]: unknown;
}

export function composeText(): string {
  return readFileSync(join(REPO_ROOT, 'docker-compose.yml'), 'utf8');
}

/** The file as YAML, before interpolation (what the Compose Specification schema validates). */
export function parseCompose(text = composeText()): ComposeFile {
  return parse(text, { merge: true }) as ComposeFile;
}

const REFERENCE = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)|\$\$/g;

/** Every variable the file interpolates, with whether compose refuses to start without it (`:?`). */
export function referencedVariables(text = composeText()): Map<string, { required: boolean }> {
  const found = new Map<string, { required: boolean }>();
  for (const m of text.matchAll(REFERENCE)) {
    const name = m[1] ?? m[4];
    if (!name) continue;
    const required = m[2] === ':?' || m[2] === '?';
    found.set(name, { required: required || (found.get(name)?.required ?? false) });
  }
  return found;
}

/** Compose's interpolation rules for one string (`:-`/`-` defaults, `:?`/`?` errors, `$$`). */
export function interpolate(value: string, env: Record<string, string | undefined>): string {
  return value.replace(REFERENCE, (match, braced: string | undefined, op: string | undefined, arg: string | undefined, bare: string | undefined) => {
    if (match === '$$') return '$';
    const name = (braced ?? bare)!;
    const current = env[name];
    const unsetOrEmpty = current === undefined || current === '';
    switch (op) {
      case ':-':
        return unsetOrEmpty ? interpolate(arg ?? '', env) : current!;
      case '-':
        return current === undefined ? interpolate(arg ?? '', env) : current;
      case ':?':
        if (unsetOrEmpty) throw new Error(`required variable ${name} is missing a value: ${arg}`);
        return current!;
      case '?':
        if (current === undefined) throw new Error(`required variable ${name} is missing a value: ${arg}`);
        return current;
      default:
        return current ?? '';
    }
  });
}

function interpolateDeep<T>(node: T, env: Record<string, string | undefined>): T {
  if (typeof node === 'string') return interpolate(node, env) as T;
  if (Array.isArray(node)) return node.map((n) => interpolateDeep(n, env)) as T;
  if (node && typeof node === 'object') return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, interpolateDeep(v, env)])) as T;
  return node;
}

/** The file as `docker compose config` would resolve it with `env` (e.g. a filled-in `.env`). */
export function resolveCompose(env: Record<string, string | undefined>, text = composeText()): ComposeFile {
  return interpolateDeep(parseCompose(text), env);
}

/** A service's environment as its process sees it: every value a string (compose stringifies numbers and booleans). */
export function serviceEnvironment(service: ComposeService): Record<string, string> {
  return Object.fromEntries(Object.entries(service.environment ?? {}).map(([k, v]) => [k, v === null ? '' : String(v)]));
}

/** `KEY=value` lines of a dotenv file; comments and blank lines skipped. */
export function parseDotenv(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/.exec(line);
    if (m && !line.trimStart().startsWith('#')) out[m[1]] = m[2].replace(/^(['"])(.*)\1$/, '$2');
  }
  return out;
}

export function envExample(): Record<string, string> {
  return parseDotenv(readFileSync(join(REPO_ROOT, '.env.example'), 'utf8'));
}

/** The three apps: services that run one of this repository's entry points. */
export function appServices(compose: ComposeFile): string[] {
  return Object.entries(compose.services)
    .filter(([, s]) => Array.isArray(s.command) && /^apps\/[^/]+\/dist\/main\.js$/.test(String(s.command[1] ?? '')))
    .map(([name]) => name);
}

/** Compose durations (`1m30s`, `500ms`, `10s`) in ms. */
export function durationMs(text: string): number {
  let total = 0;
  const re = /(\d+(?:\.\d+)?)(ms|us|h|m|s)/g;
  let consumed = '';
  for (const m of text.matchAll(re)) {
    consumed += m[0];
    total += Number(m[1]) * { h: 3_600_000, m: 60_000, s: 1000, ms: 1, us: 0.001 }[m[2] as 'h' | 'm' | 's' | 'ms' | 'us'];
  }
  if (consumed !== text) throw new Error(`not a compose duration: ${text}`);
  return total;
}

/** Services in an order that starts every service after the ones it depends on. */
export function startOrder(compose: ComposeFile, names: string[]): string[] {
  const order: string[] = [];
  const visit = (name: string, path: string[]) => {
    if (order.includes(name)) return;
    if (path.includes(name)) throw new Error(`dependency cycle: ${[...path, name].join(' → ')}`);
    for (const dep of Object.keys(compose.services[name]?.depends_on ?? {})) if (names.includes(dep)) visit(dep, [...path, name]);
    order.push(name);
  };
  for (const name of names) visit(name, []);
  return order;
}
