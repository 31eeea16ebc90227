import { Controller, Delete, Get, Inject, Param, Query, Res } from '@nestjs/common';
import type { Actor } from '@wcp/contracts';
import { IsoTime } from '@wcp/contracts';
import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import { CommandSender } from '../commands/command.sender';
import { ApiError } from '../http/api-error';
import { CurrentActor, requireId } from '../http/decorators';
import { InternalClient, TELEMETRY_SERVICE, WORKLOAD_SERVICE } from '../http/internal.client';
import { parseOr422, QueryString } from '../http/validation';
import { WorkloadFilters } from '../workloads/workloads.controller';

const Window = {
  protonId: QueryString(64),
  startTime: QueryString(64),
  endTime: QueryString(64),
};
const StatsQuery = z.strictObject({ ...Window, responseTimeQuantile: QueryString(32), slowRequestsThreshold: QueryString(32) });
const SeriesQuery = z.strictObject({ ...Window, responseTimeQuantile: QueryString(32), slowRequestsThreshold: QueryString(32), resolution: QueryString(8) });
const ResetQuery = z.strictObject({ protonId: QueryString(64), startTime: IsoQuery(), endTime: IsoQuery() });
const SummaryQuery = z.strictObject({ ...WorkloadFilters, startTime: QueryString(64), endTime: QueryString(64), responseTimeQuantile: QueryString(32) });

function IsoQuery() {
  return z.preprocess((v) => (Array.isArray(v) ? v[v.length - 1] : v), z.union([IsoTime, z.iso.datetime({ offset: true })]).optional());
}

/** Values are validated by the telemetry service, which owns their meaning; keys are checked here. */
function forward(query: Record<string, string | undefined>): string {
  const params = new URLSearchParams(Object.entries(query).filter((e): e is [string, string] => e[1] !== undefined));
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
  async reset(@Param('id') id: string, @Query() query: unknown, @CurrentActor() actor: Actor, @Res({ passthrough: true }) reply: FastifyReply) {
    const q = parseOr422(ResetQuery, query, 'query');
    const workloadId = requireId(id, 'Workload');
    const startTime = q.startTime ? new Date(q.startTime).toISOString() : null;
    const endTime = q.endTime ? new Date(q.endTime).toISOString() : null;
    if (startTime && endTime && startTime > endTime) throw new ApiError(400, 'startTime must not be after endTime.');
    const { resetAt } = await this.commands.send<{ resetAt: string }>(
      workloadId,
      { name: 'ResetStats', workloadId, protonId: q.protonId ?? null, startTime, endTime },
      actor,
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
