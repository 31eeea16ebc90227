import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { orThrow } from '../http/domain-error.filter';
import { LogsService } from './logs.service';

/**
 * Internal replica-log API (JSON in and out), called by the gateway for
 * `GET /otel/workload/{id}/logs` (spec/API.md §3). Semantics: docs/clickhouse.md, "Logs".
 * Errors: `{code, kind, message}`.
 */
@Controller('internal')
export class LogsController {
  constructor(private readonly logs: LogsService) {}

  @Post('logs/search')
  @HttpCode(200)
  async search(@Body() body: unknown) {
    return orThrow(await this.logs.search(body));
  }
}
