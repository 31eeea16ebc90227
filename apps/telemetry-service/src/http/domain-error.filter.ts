import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import { HTTP_STATUS_OF_KIND, isDomainError, type DomainError, type ErrorKind } from '@wcp/contracts';

/** The part of Fastify's reply this filter uses. */
interface Reply {
  status(code: number): { send(body: unknown): unknown };
}

/** A refusal on its way out of a controller. */
export class DomainException extends Error {
  constructor(readonly error: DomainError) {
    super(error.message);
  }
}

/** Returns `value`, or throws it as a DomainException when it is a refusal. */
export function orThrow<T>(value: T | DomainError): T {
  if (isDomainError(value)) throw new DomainException(value);
  return value;
}

/** Internal statuses mirror what the gateway will map the kinds to; the body carries the kind. */

/** Every error leaves as JSON `{code, kind, message}`: refusals as they are, framework errors mapped, bugs as 500. */
@Catch()
export class DomainErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('telemetry-http');

  catch(exception: unknown, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<Reply>();
    let body: DomainError;
    let status: number;
    if (exception instanceof DomainException) {
      body = exception.error;
      status = HTTP_STATUS_OF_KIND[body.kind] ?? 400;
    } else if (exception instanceof HttpException) {
      status = exception.getStatus();
      const kind: ErrorKind = status === 404 ? 'not_found' : status === 413 ? 'validation' : 'bad_request';
      body = { code: status === 404 ? 'ROUTE_NOT_FOUND' : 'BAD_REQUEST', kind, message: exception.message };
    } else {
      this.logger.error(exception instanceof Error ? (exception.stack ?? exception.message) : String(exception));
      status = 500;
      body = { code: 'INTERNAL', kind: 'unavailable', message: 'internal error' };
    }
    void reply.status(status).send(body);
  }
}
