import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Patch, Post, Query, Req, Res } from '@nestjs/common';
import {
  Actor,
  CreateWorkloadBody,
  IMPORTANCES,
  UpdateWorkloadBody,
  WORKLOAD_STATUSES,
  WorkloadDto,
  WorkloadEventDto,
  WorkloadOperationResponse,
} from '@wcp/contracts';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { CommandSender } from '../commands/command.sender';
import { Idempotency, IdempotentRequest } from '../commands/idempotency-key';
import { CONFIG, GatewayConfig } from '../config';
import { ApiError } from '../http/api-error';
import { CurrentActor, requireId } from '../http/decorators';
import { REPLICA_ROUTER, ReplicaRouter } from '../data-plane/replica-router';
import { InternalClient, WORKLOAD_SERVICE } from '../http/internal.client';
import { page } from '../http/paging';
import { withAbsoluteEndpoint } from '../http/public-url';
import { NoQuery, Paging, QueryArrayOf, QueryBool, QueryItem, QueryString, parseOr422 } from '../http/validation';
import { StatsEnricher } from './stats.enricher';

const ORDER_FIELDS = ['name', 'createdAt', 'updatedAt', 'status', 'importance'] as const;

/** Filters shared by `GET /workloads` and `GET /workloads/stats`. */
export const WorkloadFilters = {
  search: QueryString(100),
  status: QueryArrayOf(z.enum(WORKLOAD_STATUSES)),
  importance: QueryArrayOf(z.enum(IMPORTANCES)),
  ids: QueryArrayOf(QueryItem(64)),
  createdBy: QueryString(128),
  artifactId: QueryString(64),
  artifactStatus: QueryArrayOf(z.enum(['draft', 'locked'])),
  tagKeys: QueryArrayOf(QueryItem(128)),
  tagValues: QueryArrayOf(QueryItem(256)),
};

export const WorkloadListQuery = z.strictObject({
  ...WorkloadFilters,
  orderBy: z.preprocess((v) => (Array.isArray(v) ? v[v.length - 1] : v), z.enum([...ORDER_FIELDS, ...ORDER_FIELDS.map((f) => `-${f}` as const)]).default('-createdAt')),
  serviceStats: QueryBool,
  ...Paging,
});

export const EventsQuery = z.strictObject(Paging);

@Controller('api/v2/workloads')
export class WorkloadsController {
  constructor(
    private readonly commands: CommandSender,
    @Inject(WORKLOAD_SERVICE) private readonly workloads: InternalClient,
    @Inject(CONFIG) private readonly config: GatewayConfig,
    private readonly stats: StatsEnricher,
    @Inject(REPLICA_ROUTER) private readonly routes: ReplicaRouter,
  ) {}

  @Post()
  @HttpCode(201)
  async create(@Body() body: unknown, @Query() query: unknown, @CurrentActor() actor: Actor, @Idempotency() idempotency?: IdempotentRequest) {
    parseOr422(NoQuery, query, 'query');
    const input = parseOr422(CreateWorkloadBody, body, 'body');
    const commandId = this.commands.commandId(actor, 'CreateWorkload', idempotency);
    const workloadId = this.commands.idFor(commandId, 'workload', idempotency);
    const artifactId = input.artifactId ?? this.commands.idFor(commandId, 'artifact', idempotency);
    const dto = await this.commands.send<WorkloadDto>(
      workloadId,
      { name: 'CreateWorkload', workloadId, artifactId: input.artifactId ? null : artifactId, input },
      actor,
      commandId,
      idempotency,
    );
    return this.absolute(dto);
  }

  @Get()
  async list(@Query() query: unknown, @Req() request: FastifyRequest, @CurrentActor() actor: Actor) {
    const q = parseOr422(WorkloadListQuery, query, 'query');
    const { serviceStats, ...search } = q;
    const result = await this.workloads.post<{ totalCount: number; data: WorkloadDto[] }>('/internal/workloads/search', search, actor);
    const data = result.data.map((w) => this.absolute(w));
    if (serviceStats) await this.stats.attach(data);
    return page(request, this.config.PUBLIC_BASE_URL, result.totalCount, data, q.offset, q.limit);
  }

  @Get(':id')
  async get(@Param('id') id: string, @Query() query: unknown, @CurrentActor() actor: Actor) {
    parseOr422(NoQuery, query, 'query');
    return this.absolute(await this.workloads.get<WorkloadDto>(`/internal/workloads/${requireId(id, 'Workload')}`, actor));
  }

  @Patch(':id')
  async update(@Param('id') id: string, @Body() body: unknown, @Query() query: unknown, @CurrentActor() actor: Actor, @Idempotency() idempotency?: IdempotentRequest) {
    parseOr422(NoQuery, query, 'query');
    const input = parseOr422(UpdateWorkloadBody, body, 'body');
    const workloadId = requireId(id, 'Workload');
    return this.absolute(await this.commands.send<WorkloadDto>(workloadId, { name: 'UpdateWorkload', workloadId, input }, actor, undefined, idempotency));
  }

  @Delete(':id')
  async remove(@Param('id') id: string, @Query() query: unknown, @CurrentActor() actor: Actor, @Res({ passthrough: true }) reply: FastifyReply, @Idempotency() idempotency?: IdempotentRequest) {
    parseOr422(NoQuery, query, 'query');
    const workloadId = requireId(id, 'Workload');
    const result = await this.commands.send<{ leftovers: string[] }>(workloadId, { name: 'DeleteWorkload', workloadId }, actor, undefined, idempotency);
    this.routes.forget(workloadId);
    if (result.leftovers.length > 0) {
      throw new ApiError(502, `Workload ${workloadId} was deleted, but these protons could not be stopped: ${result.leftovers.join(', ')}.`);
    }
    reply.status(204);
  }

  @Post(':id/start')
  async start(@Param('id') id: string, @Query() query: unknown, @CurrentActor() actor: Actor, @Res({ passthrough: true }) reply: FastifyReply, @Idempotency() idempotency?: IdempotentRequest) {
    return this.operate('StartWorkload', id, query, actor, reply, idempotency);
  }

  @Post(':id/stop')
  async stop(@Param('id') id: string, @Query() query: unknown, @CurrentActor() actor: Actor, @Res({ passthrough: true }) reply: FastifyReply, @Idempotency() idempotency?: IdempotentRequest) {
    return this.operate('StopWorkload', id, query, actor, reply, idempotency);
  }

  @Get(':id/events')
  async events(@Param('id') id: string, @Query() query: unknown, @Req() request: FastifyRequest, @CurrentActor() actor: Actor) {
    const q = parseOr422(EventsQuery, query, 'query');
    const workloadId = requireId(id, 'Workload');
    const result = await this.workloads.get<{ totalCount: number; data: WorkloadEventDto[] }>(
      `/internal/workloads/${workloadId}/events?offset=${q.offset}&limit=${q.limit}`,
      actor,
    );
    return page(request, this.config.PUBLIC_BASE_URL, result.totalCount, result.data, q.offset, q.limit);
  }

  @Get(':id/related')
  async related(@Param('id') id: string, @Query() query: unknown, @CurrentActor() actor: Actor) {
    parseOr422(NoQuery, query, 'query');
    return this.workloads.get(`/internal/workloads/${requireId(id, 'Workload')}/related`, actor);
  }

  private async operate(name: 'StartWorkload' | 'StopWorkload', id: string, query: unknown, actor: Actor, reply: FastifyReply, idempotency?: IdempotentRequest): Promise<WorkloadOperationResponse> {
    parseOr422(NoQuery, query, 'query');
    const workloadId = requireId(id, 'Workload');
    const result = await this.commands.send<{ accepted: boolean; message: string }>(workloadId, { name, workloadId }, actor, undefined, idempotency);
    // From the moment a stop is accepted this gateway answers 503 (the service routes nothing of a stopping workload).
    this.routes.forget(workloadId);
    reply.status(result.accepted ? 202 : 200);
    return { status: result.message, workloadId, trackVia: `/api/v2/workloads/${workloadId}` };
  }

  private absolute(dto: WorkloadDto): WorkloadDto {
    return withAbsoluteEndpoint(this.config.PUBLIC_BASE_URL, dto);
  }
}
