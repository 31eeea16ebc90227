import type { Logger } from 'pino';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { saneId, withLogFields } from './log-context';

export const REQUEST_ID_HEADER = 'x-request-id';

/**
 * Fastify's `genReqId`: the caller's `X-Request-Id` when it is a sane id (≤ 128 of
 * `[A-Za-z0-9._:-]`, so a header cannot inject into a log line or balloon it), else a new UUID.
 */
export function requestIdOf(request: Pick<IncomingMessage, 'headers'>): string {
  return saneId(request.headers[REQUEST_ID_HEADER]) ?? randomUUID();
}

/** What of Fastify this needs (this package does not depend on it). */
interface HookHost {
  addHook(name: 'onRequest', hook: (request: { id: string }, reply: { header(name: string, value: string): unknown }, done: () => void) => void): unknown;
  addHook(name: 'preValidation', hook: (request: { id: string }, reply: unknown, done: () => void) => void): unknown;
  addHook(
    name: 'onResponse',
    hook: (
      request: { id: string; method: string; headers: Record<string, unknown>; routeOptions: { url?: string } },
      reply: { statusCode: number; elapsedTime: number },
      done: () => void,
    ) => void,
  ): unknown;
}

/**
 * Every request of a Fastify instance: its id echoed in `X-Request-Id`, bound to the log context
 * from `preValidation` on (after the body is read: the body's stream events would run outside a
 * scope entered earlier), so the guards, handlers and filters log it; and one line when it is
 * answered, at `level` (the gateway's API: info; the services' internal APIs: debug). At debug
 * the line also holds the request headers, with Authorization and cookies redacted (redactSecrets).
 */
export function logRequests(fastify: HookHost, logger: Logger, level: 'info' | 'debug'): void {
  fastify.addHook('onRequest', (request, reply, done) => {
    reply.header(REQUEST_ID_HEADER, request.id);
    done();
  });
  fastify.addHook('preValidation', (request, _reply, done) => withLogFields({ requestId: request.id }, done));
  fastify.addHook('onResponse', (request, reply, done) => {
    if (logger.isLevelEnabled(level)) {
      logger[level](
        {
          requestId: request.id,
          method: request.method,
          route: request.routeOptions.url ?? 'unmatched',
          status: reply.statusCode,
          ms: Math.round(reply.elapsedTime * 10) / 10,
          ...(logger.isLevelEnabled('debug') ? { req: { headers: request.headers } } : {}),
        },
        'request answered',
      );
    }
    done();
  });
}
