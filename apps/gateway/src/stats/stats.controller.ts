import { Controller, Delete, Get, Inject, Param, Query, Res } from '@nestjs/common';
import type { Actor } from '@wcp/contracts';
import { RESOLUTIONS } from '@wcp/contracts';
import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import { CommandSender } from '../commands/command.sender';
import { Idempotency, IdempotentRequest } from '../commands/idempotency-key';
import { ApiError } from '../http/api-error';
import { CurrentActor, requireId } from '../http/decorators';
import { InternalClient, TELEMETRY_SERVICE, WORKLOAD_SERVICE } from '../http/internal.client';
import { parseOr422 } from '../http/validation';
import { WorkloadFilters } from '../workloads/workloads.controller';

/**
 * RFC 3339 with `Z` or an offset, any fraction, in the years the statistics cover (1970..2259;
 * the telemetry service refuses others): checked here so the OpenAPI document states it.
 */
const STATS_TIME = /^(19[7-9][0-9]|2[01][0-9]{2}|22[0-5][0-9])-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})$/;
const StatsTime = () => z.preprocess(last, z.iso.datetime({ offset: true }).regex(STATS_TIME, 'must be RFC 3339 between 1970 and 2259').optional());
/** A number in a query string; an empty value is not 0. */
const QueryNumber = (min: number, max: number) => z.preprocess((v) => {
  const value = last(v);
  return typeof value === 'string' && value.trim() === '' ? Number.NaN : value;
}, z.coerce.number().min(min).max(max).optional());

const Window = {
  protonId: z.preprocess(last, z.string().min(1).max(64).optional()),
  startTime: StatsTime(),
  endTime: StatsTime(),
};
const Quantile = { responseTimeQuantile: QueryNumber(0, 1) };
export const StatsQuery = z.strictObject({ ...Window, ...Quantile, slowRequestsThreshold: QueryNumber(0, 1e12) });
export const SeriesQuery = z.strictObject({ ...Window, ...Quantile, slowRequestsThreshold: QueryNumber(0, 1e12), resolution: z.preprocess(last, z.enum(RESOLUTIONS).optional()) });
export const ResetQuery = z.strictObject(Window);
export const SummaryQuery = z.strictObject({ ...WorkloadFilters, startTime: StatsTime(), endTime: StatsTime(), ...Quantile });

function last(v: unknown): unknown {
  return Array.isArray(v) ? v[v.length - 1] : v;
}

/** Checked here for the document's sake; the telemetry service, which owns their meaning, checks them again. */
function forward(query: Record<string, string | number | undefined>): string {
  const params = new URLSearchParams(Object.entries(query).filter((e): e is [string, string | number] => e[1] !== undefined).map(([k, v]): [string, string] => [k, String(v)]));
  const text = params.toString();
  return text ? `?${text}` : '';
}

/**
 * Request statistics (spec §4). ROUTE_POLICY authorizes (stats need the details permission, a
 * reset needs update; the summary covers only the workloads the caller sees), the telemetry
 * service computes.
 */
@Controller('api/v2/workloads')
export class StatsController {
  constructor(
    private readonly commands: CommandSender,
    @Inject(WORKLOAD_SERVICE) private readonly workloads: InternalClient,
    @Inject(TELEMETRY_SERVICE) private readonly telemetry: InternalClient,
  ) {}

  @Get('stats')
  async summary(@Query() query: unknown, @CurrentActor() actor: Actor) {
    const { startTime, endTime, responseTimeQuantile, ...filters } = parseOr422(SummaryQuery, query, 'query');
    const visible = await this.workloads.post<Array<{ id: string; status: string }>>('/internal/workloads/visible', filters, actor);
    return this.telemetry.post('/internal/stats/summary', {
      workloadIds: visible.map((w) => w.id),
      activeWorkloadIds: visible.filter((w) => w.status === 'running').map((w) => w.id),
      ...(startTime ? { startTime } : {}),
      ...(endTime ? { endTime } : {}),
      ...(responseTimeQuantile !== undefined ? { responseTimeQuantile: Number(responseTimeQuantile) } : {}),
    }, null);
  }

  @Get(':id/stats')
  async stats(@Param('id') workloadId: string, @Query() query: unknown) {
    const q = parseOr422(StatsQuery, query, 'query');
    return this.telemetry.get(`/internal/workloads/${workloadId}/stats${forward(q)}`, null);
  }

  @Get(':id/stats/:metricName')
  async series(@Param('id') workloadId: string, @Param('metricName') metricName: string, @Query() query: unknown) {
    const q = parseOr422(SeriesQuery, query, 'query');
    return this.telemetry.get(`/internal/workloads/${workloadId}/stats/${encodeURIComponent(metricName)}${forward(q)}`, null);
  }

  @Delete(':id/stats')
  async reset(@Param('id') id: string, @Query() query: unknown, @CurrentActor() actor: Actor, @Res({ passthrough: true }) reply: FastifyReply, @Idempotency() idempotency?: IdempotentRequest) {
    const q = parseOr422(ResetQuery, query, 'query');
    const workloadId = requireId(id, 'Workload');
    const startTime = q.startTime ? new Date(q.startTime).toISOString() : null;
    const endTime = q.endTime ? new Date(q.endTime).toISOString() : null;
    if (startTime && endTime && startTime > endTime) throw new ApiError(400, 'startTime must not be after endTime.');
    const { resetAt } = await this.commands.send<{ resetAt: string }>(
      workloadId,
      { name: 'ResetStats', workloadId, protonId: q.protonId ?? null, startTime, endTime },
      actor,
      undefined,
      idempotency,
    );
    await this.telemetry.post(`/internal/workloads/${workloadId}/stats/reset`, {
      ...(q.protonId ? { protonId: q.protonId } : {}),
      ...(startTime ? { startTime } : {}),
      ...(endTime ? { endTime } : {}),
      resetAt,
    }, null);
    reply.status(204);
  }
}
