import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import { DomainError, domainError, HTTP_STATUS_OF_KIND } from '@wcp/contracts';
import type { FastifyReply } from 'fastify';
import { ZodError } from 'zod';

/**
 * Every failure of the internal API answers like a refusal, `{code, kind, message}` with the
 * kind's status, so the gateway maps it to the same public error as everything else: a request
 * the service cannot read (a zod parse of a query or the actor) is `validation` (422), not a
 * 500 that the gateway would turn into a 502; an unknown route 404; anything else `internal`.
 */
@Catch()
export class InternalExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('InternalApi');

  catch(exception: unknown, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    const error = toDomainError(exception);
    if (error.kind === 'internal') this.logger.error(exception instanceof Error ? (exception.stack ?? exception.message) : String(exception));
    void reply.status(HTTP_STATUS_OF_KIND[error.kind]).send(error);
  }
}

export function toDomainError(exception: unknown): DomainError {
  if (exception instanceof ZodError) {
    const issue = exception.issues[0];
    return domainError('validation', 'INVALID_REQUEST', issue ? `${issue.path.join('.') || 'request'}: ${issue.message}` : 'invalid request', issue ? ['query', ...issue.path.map((p) => (typeof p === 'number' ? p : String(p)))] : undefined);
  }
  if (exception instanceof HttpException) {
    const status = exception.getStatus();
    if (status === 404) return domainError('not_found', 'ROUTE_NOT_FOUND', exception.message);
    if (status < 500) return domainError(status === 413 ? 'bad_request' : 'validation', 'INVALID_REQUEST', exception.message);
  }
  if (exception instanceof SyntaxError) return domainError('bad_request', 'MALFORMED_JSON', exception.message);
  return domainError('internal', 'INTERNAL_ERROR', 'The workload service failed to answer; see its log.');
}
