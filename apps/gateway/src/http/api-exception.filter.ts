import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { ApiError } from './api-error';

/** Every error leaves the gateway as `{ "detail": ... }`; unexpected ones are logged, never leaked. */
@Catch()
export class ApiExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('Gateway');

  catch(exception: unknown, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<FastifyReply>();
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
  const fastifyError = exception as { statusCode?: number; code?: string; message?: string };
  if (fastifyError?.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return { status: 413, detail: 'Request body is larger than 1 MiB.', headers: {} };
  if (fastifyError?.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return { status: 415, detail: 'Content-Type must be application/json.', headers: {} };
  if (fastifyError?.code === 'FST_ERR_CTP_EMPTY_JSON_BODY') return { status: 400, detail: 'Request body is empty but Content-Type is application/json.', headers: {} };
  if (fastifyError?.statusCode === 400 || exception instanceof SyntaxError) {
    return { status: 400, detail: `Malformed JSON body: ${fastifyError?.message ?? 'cannot parse'}`, headers: {} };
  }
  if (typeof fastifyError?.statusCode === 'number' && fastifyError.statusCode >= 400 && fastifyError.statusCode < 500) {
    return { status: fastifyError.statusCode, detail: fastifyError.message ?? 'Bad request', headers: {} };
  }
  logger.error(exception instanceof Error ? (exception.stack ?? exception.message) : String(exception));
  return { status: 500, detail: 'Internal server error.', headers: {} };
}
