import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Inject, Logger, NotFoundException, Optional } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import type { AuthedRequest } from '../auth/auth.guard';
import { RouteAudit } from '../auth/route-audit';
import { ApiError } from './api-error';

/**
 * Every error leaves the gateway as `{ "detail": ... }`; unexpected ones are logged, never
 * leaked. Fastify's own refusals (malformed JSON 400, body over 1 MiB 413) reach this filter
 * as HttpExceptions through Nest's adapter. A path the router knows under other methods only
 * answers 405 with `Allow` (RFC 9110 §15.5.6), before authentication: the methods are public in
 * the OpenAPI document anyway.
 */
@Catch()
export class ApiExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('Gateway');

  constructor(@Optional() @Inject(RouteAudit) private readonly routes: RouteAudit | null = null) {}

  async catch(exception: unknown, host: ArgumentsHost): Promise<void> {
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    const request = host.switchToHttp().getRequest<AuthedRequest>();
    // Authorization before validation: on a route the workload service decides, the gateway's
    // own 422 goes out only to a caller the gateway also finds allowed.
    if (request.accessCheck && exception instanceof ApiError && exception.status === 422 && !exception.fromService) {
      exception = (await request.accessCheck().catch(() => null)) ?? exception;
    }
    if (exception instanceof NotFoundException && this.routes) {
      const allow = this.routes.allowedMethods(request.url);
      if (allow.length > 0 && !allow.includes(request.method)) {
        exception = new ApiError(405, `${request.method} is not served on this path; it serves ${allow.join(', ')}.`, { allow: allow.join(', ') });
      }
    }
    const { status, detail, headers } = toResponse(exception, this.logger);
    reply.status(status).headers(headers).send({ detail });
  }
}

export function toResponse(exception: unknown, logger: Logger): { status: number; detail: unknown; headers: Record<string, string> } {
  if (exception instanceof ApiError) return { status: exception.status, detail: exception.detail, headers: exception.headers };
  if (exception instanceof HttpException) {
    const status = exception.getStatus();
    return { status, detail: status === 404 ? 'Not Found' : exception.message, headers: {} };
  }
  logger.error(exception instanceof Error ? (exception.stack ?? exception.message) : String(exception));
  return { status: 500, detail: 'Internal server error.', headers: {} };
}
