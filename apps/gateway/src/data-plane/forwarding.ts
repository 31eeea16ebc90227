import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';

/** Public prefix of the data plane; the workload id follows, then the path the replica sees. */
export const DATA_PLANE_PREFIX = '/api/v2/endpoints/workloads/';

/**
 * Connection-scoped headers (RFC 9110 §7.6.1) never travel past one hop. `expect` is answered
 * by the gateway's own server; `authorization` is the caller's API token, which a replica must
 * never see; `x-wcp-actor` is an internal header and must not be spoofed through the gateway.
 */
const NOT_FORWARDED = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'expect',
  'host',
  'authorization',
  'x-wcp-actor',
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
]);

const HOP_BY_HOP_RESPONSE = new Set(['connection', 'keep-alive', 'proxy-authenticate', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade']);

const NO_TOKENS: ReadonlySet<string> = new Set();
/** Parsed `Connection` values: a handful of distinct strings in practice (`keep-alive`, `close`), so parsed once each. */
const parsedConnection = new Map<string, ReadonlySet<string>>();

/** Header names listed in `Connection` are hop-by-hop too. */
function connectionTokens(value: string | string[] | undefined): ReadonlySet<string> {
  if (!value) return NO_TOKENS;
  const joined = Array.isArray(value) ? value.join(',') : value;
  let tokens = parsedConnection.get(joined);
  if (!tokens) {
    tokens = new Set(joined.split(',').map((t) => t.trim().toLowerCase()).filter(Boolean));
    if (parsedConnection.size >= 100) parsedConnection.clear();
    parsedConnection.set(joined, tokens);
  }
  return tokens;
}

export interface ClientInfo {
  /** Peer address of the caller's connection; the gateway is the edge (no trusted proxy in front). */
  remoteAddress: string | undefined;
  protocol: 'http' | 'https';
  host: string | undefined;
}

/**
 * Headers sent to the replica. `x-forwarded-*` are replaced, not appended: without a trusted
 * proxy in front, what a client claims there is not evidence.
 */
export function upstreamRequestHeaders(incoming: IncomingHttpHeaders, client: ClientInfo): OutgoingHttpHeaders {
  const dropped = connectionTokens(incoming.connection);
  const headers: OutgoingHttpHeaders = {};
  for (const name in incoming) {
    const value = incoming[name];
    if (value === undefined || NOT_FORWARDED.has(name) || dropped.has(name)) continue;
    headers[name] = value;
  }
  if (client.remoteAddress) headers['x-forwarded-for'] = client.remoteAddress;
  headers['x-forwarded-proto'] = client.protocol;
  if (client.host) headers['x-forwarded-host'] = client.host;
  // A chunked upload stays chunked: node re-frames the stream when no content-length is given.
  return headers;
}

/** Headers returned to the caller: the replica's, minus hop-by-hop ones. */
export function downstreamResponseHeaders(upstream: IncomingHttpHeaders): OutgoingHttpHeaders {
  const dropped = connectionTokens(upstream.connection);
  const headers: OutgoingHttpHeaders = {};
  for (const name in upstream) {
    const value = upstream[name];
    if (value === undefined || HOP_BY_HOP_RESPONSE.has(name) || dropped.has(name)) continue;
    headers[name] = value;
  }
  return headers;
}

export interface DataPlaneTarget {
  workloadId: string;
  /** What the replica sees: the part after the workload id, always with a leading slash. */
  path: string;
  /** The raw query without `protonId`, encoding untouched; '' or starting with '?'. */
  query: string;
  /** `?protonId=` selects a proton other than the active one; the last one wins. */
  protonId: string | null;
}

/**
 * Splits a raw request URL (`/api/v2/endpoints/workloads/<id>/a/b?x=1`). Works on the raw
 * string so the replica receives the path and query exactly as the client encoded them.
 * Returns null when the URL is not under the data-plane prefix.
 */
export function parseTarget(rawUrl: string): DataPlaneTarget | null {
  if (!rawUrl.startsWith(DATA_PLANE_PREFIX)) return null;
  const q = rawUrl.indexOf('?');
  const pathPart = q === -1 ? rawUrl.slice(DATA_PLANE_PREFIX.length) : rawUrl.slice(DATA_PLANE_PREFIX.length, q);
  const rawQuery = q === -1 ? '' : rawUrl.slice(q + 1);
  const slash = pathPart.indexOf('/');
  const workloadId = slash === -1 ? pathPart : pathPart.slice(0, slash);
  const path = slash === -1 ? '/' : pathPart.slice(slash);
  if (rawQuery === '') return { workloadId, path, query: '', protonId: null };
  let protonId: string | null = null;
  const kept: string[] = [];
  for (const pair of rawQuery.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const key = eq === -1 ? pair : pair.slice(0, eq);
    if (safeDecode(key) === 'protonId') {
      protonId = eq === -1 ? '' : safeDecode(pair.slice(eq + 1));
      continue;
    }
    kept.push(pair);
  }
  return { workloadId, path, query: kept.length > 0 ? `?${kept.join('&')}` : '', protonId: protonId === '' ? null : protonId };
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '));
  } catch {
    return value;
  }
}
