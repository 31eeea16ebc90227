import { policyFor } from '@wcp/access';
import type { FastifyInstance } from 'fastify';

/**
 * Collects every route the router registers, from Nest controllers and from plain Fastify
 * plugins alike (the data plane), so the gateway can refuse to serve one that `ROUTE_POLICY`
 * does not cover, and can tell a path it does not serve (404) from a method a path does not
 * serve (405 with `Allow`). Install before any route is registered.
 */
export class RouteAudit {
  private readonly routes: Array<{ method: string; url: string; pattern: RegExp }> = [];

  constructor(fastify: FastifyInstance) {
    fastify.addHook('onRoute', (route) => {
      for (const method of Array.isArray(route.method) ? route.method : [route.method]) this.routes.push({ method, url: route.url, pattern: patternOf(route.url) });
    });
    // The router looks a method up in that method's routes only: PATCH /workloads/stats reaches
    // PATCH /workloads/:id with id "stats" (a 404 from the service). The path names the stats
    // resource, which does not serve PATCH: 405, before authentication like the router's own misses.
    fastify.addHook('onRequest', async (request, reply) => {
      const allow = this.misrouted(request.method, request.url, request.routeOptions.url);
      if (allow) await reply.code(405).header('allow', allow.join(', ')).send({ detail: `${request.method} is not served on this path; it serves ${allow.join(', ')}.` });
    });
  }

  /**
   * The Allow list when the router matched `routeUrl` for this method although a more specific
   * route (fewer parameters) serves the path under other methods only; null when the match stands.
   */
  misrouted(method: string, url: string, routeUrl: string | undefined): string[] | null {
    if (routeUrl === undefined || !/[:*]/.test(routeUrl)) return null;
    const allow = this.allowedMethods(url);
    return allow.length > 0 && !allow.includes(method) ? allow : null;
  }

  /** `METHOD path` of every registered route without a rule; empty when all are policed. */
  unpoliced(): string[] {
    return this.routes.filter((r) => policyFor(r.method, r.url) === null).map((r) => `${r.method} ${r.url}`);
  }

  /** The methods some route serves on this concrete path (query ignored), sorted; empty when none does. */
  allowedMethods(url: string): string[] {
    const path = url.split('?', 1)[0];
    const matching = this.routes.filter((r) => r.pattern.test(path));
    // The router prefers a static segment to a parameter (`/workloads/stats` over `/workloads/:id`): so does Allow.
    const params = (u: string) => (u.match(/[:*]/g) ?? []).length;
    const fewest = Math.min(...matching.map((r) => params(r.url)));
    return [...new Set(matching.filter((r) => params(r.url) === fewest).map((r) => r.method))].sort();
  }
}

/** A route URL as the router matches it: `:param` is one segment, `*` the rest; a trailing slash is ignored (ignoreTrailingSlash). */
function patternOf(url: string): RegExp {
  const body = url
    .replace(/\/+$/, '')
    .split('/')
    .map((segment) => (segment === '*' ? '.*' : segment.startsWith(':') ? '[^/]+' : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/');
  return new RegExp(`^${body}/?$`);
}
