import { Body, Controller, Get, Header, HttpCode, Param, Post, Query } from '@nestjs/common';
import { orThrow } from '../http/domain-error.filter';
import { StatsService } from './stats.service';

/**
 * Internal statistics API (JSON in and out), called by the gateway. Contract: spec/API.md §4;
 * routes and semantics: docs/clickhouse.md. Errors: `{code, kind, message}`.
 */
@Controller('internal')
export class StatsController {
  constructor(private readonly stats: StatsService) {}

  @Get('health')
  async health() {
    const clickhouse = await this.stats.healthy();
    return { status: clickhouse ? 'ok' : 'degraded', components: { clickhouse } };
  }

  @Get('workloads/:workloadId/stats')
  async workloadStats(@Param('workloadId') workloadId: string, @Query() query: unknown) {
    return orThrow(await this.stats.stats(workloadId, query));
  }

  /** Already JSON bytes (thousands of buckets): Fastify sends them as they are. */
  @Get('workloads/:workloadId/stats/:metricName')
  @Header('content-type', 'application/json; charset=utf-8')
  async metricSeries(@Param('workloadId') workloadId: string, @Param('metricName') metricName: string, @Query() query: unknown) {
    return orThrow(await this.stats.series(workloadId, metricName, query));
  }

  @Post('workloads/:workloadId/stats/reset')
  @HttpCode(200)
  async reset(@Param('workloadId') workloadId: string, @Body() body: unknown) {
    return orThrow(await this.stats.reset(workloadId, body));
  }

  @Post('stats/summary')
  @HttpCode(200)
  async summary(@Body() body: unknown) {
    return orThrow(await this.stats.summary(body));
  }

  @Post('stats/request-stats')
  @HttpCode(200)
  async requestStats(@Body() body: unknown) {
    return orThrow(await this.stats.requestStats(body));
  }
}
