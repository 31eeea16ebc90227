import { Controller, Get, Inject, Param, Query, Req } from '@nestjs/common';
import { LOG_LEVELS, type LogEntryDto } from '@wcp/contracts';
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { CONFIG, GatewayConfig } from '../config';
import { ApiError } from '../http/api-error';
import { InternalClient, TELEMETRY_SERVICE } from '../http/internal.client';
import { page } from '../http/paging';
import { QueryInt, parseOr422 } from '../http/validation';

const last = (v: unknown) => (Array.isArray(v) ? v[v.length - 1] : v);

/** RFC 3339 with any fraction (clients send nanoseconds) and any offset; kept as UTC milliseconds. */
const Time = z.preprocess(last, z.iso.datetime({ offset: true }).transform((v) => new Date(v).toISOString()).optional());

/** Case-insensitive; `warn` is the alias clients use for `warning`. */
const Level = z.preprocess((v) => {
  const value = last(v);
  if (typeof value !== 'string') return value;
  const lower = value.trim().toLowerCase();
  return lower === 'warn' ? 'warning' : lower;
}, z.enum(LOG_LEVELS).optional());

export const LogsQuery = z.strictObject({
  offset: QueryInt(0, Number.MAX_SAFE_INTEGER, 0),
  limit: QueryInt(1, 1000, 100),
  level: Level,
  startTime: Time,
  endTime: Time,
  protonId: z.preprocess(last, z.string().max(64).optional()),
});

/**
 * Replica logs (spec §3, `GET /otel/workload/{id}/logs`), the route the vendor CLI's
 * `dr workload logs` reads. ROUTE_POLICY authorizes like events (the details permission), the
 * telemetry service reads ClickHouse. `level` is a minimum severity;
 * `startTime` is inclusive and `endTime` exclusive, so a client polling from its newest line
 * sees every line once it has arrived.
 */
@Controller('api/v2/otel/workload')
export class LogsController {
  constructor(
    @Inject(TELEMETRY_SERVICE) private readonly telemetry: InternalClient,
    @Inject(CONFIG) private readonly config: GatewayConfig,
  ) {}

  @Get(':id/logs')
  async logs(@Param('id') workloadId: string, @Query() query: unknown, @Req() request: FastifyRequest) {
    const q = parseOr422(LogsQuery, query, 'query');
    // One parameter against the other, which a schema cannot state: 400, as the stats routes answer it (spec §3).
    if (q.startTime && q.endTime && q.startTime > q.endTime) throw new ApiError(400, 'startTime must not be after endTime.');
    const result = await this.telemetry.post<{ totalCount: number; data: LogEntryDto[] }>(
      '/internal/logs/search',
      {
        workloadId,
        offset: q.offset,
        limit: q.limit,
        level: q.level ?? null,
        startTime: q.startTime ?? null,
        endTime: q.endTime ?? null,
        protonId: q.protonId ?? null,
      },
      null,
    );
    return page(request, this.config.PUBLIC_BASE_URL, result.totalCount, result.data, q.offset, q.limit);
  }
}
