import { counter, histogram } from './registry';

const requests = counter('wcp_http_requests_total', 'HTTP requests answered, by app, method, route template and status code.', ['app', 'method', 'route', 'status']);
const duration = histogram('wcp_http_request_duration_seconds', 'HTTP request latency from receipt to response sent, by app, method and route template.', ['app', 'method', 'route']);

/** What of Fastify this needs (this package does not depend on it). */
interface HookHost {
  addHook(
    name: 'onResponse',
    hook: (request: { method: string; routeOptions: { url?: string } }, reply: { statusCode: number; elapsedTime: number }, done: () => void) => void,
  ): unknown;
}

/**
 * Counts every request a Fastify instance answers by its route template (`/api/v2/workloads/:id`,
 * never the raw path, so ids add no series); `unmatched` for a path no route serves.
 */
export function observeHttp(fastify: HookHost, app: string): void {
  fastify.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? 'unmatched';
    requests.inc({ app, method: request.method, route, status: reply.statusCode });
    duration.observe({ app, method: request.method, route }, reply.elapsedTime / 1000);
    done();
  });
}
