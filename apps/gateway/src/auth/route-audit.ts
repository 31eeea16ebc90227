import { policyFor } from '@wcp/access';
import type { FastifyInstance } from 'fastify';

/**
 * Collects every route the router registers, from Nest controllers and from plain Fastify
 * plugins alike (the data plane), so the gateway can refuse to serve one that `ROUTE_POLICY`
 * does not cover. Install before any route is registered.
 */
export class RouteAudit {
  private readonly routes: Array<{ method: string; url: string }> = [];

  constructor(fastify: FastifyInstance) {
    fastify.addHook('onRoute', (route) => {
      for (const method of Array.isArray(route.method) ? route.method : [route.method]) this.routes.push({ method, url: route.url });
    });
  }

  /** `METHOD path` of every registered route without a rule; empty when all are policed. */
  unpoliced(): string[] {
    return this.routes.filter((r) => policyFor(r.method, r.url) === null).map((r) => `${r.method} ${r.url}`);
  }
}
