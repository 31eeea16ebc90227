import { isIP } from 'node:net';

/** 0.0.0.0 and :: listen on every interface: nobody can connect to them by that name. */
export function isWildcard(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '[::]';
}

/** A probe runs on the replica's host: a wildcard bind is reached over loopback of the same family. */
export function probeHostFor(bindHost: string): string {
  if (!isWildcard(bindHost)) return bindHost.replace(/^\[(.*)\]$/, '$1');
  return bindHost === '0.0.0.0' ? '127.0.0.1' : '::1';
}

/** `host:port` as a URL authority: an IPv6 literal is bracketed. */
export function hostPort(host: string, port: number): string {
  const bare = host.replace(/^\[(.*)\]$/, '$1');
  return isIP(bare) === 6 ? `[${bare}]:${port}` : `${bare}:${port}`;
}
