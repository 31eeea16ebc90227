import { Controller, Get, Inject, Param, Query, Req, Res } from '@nestjs/common';
import type { Actor } from '@wcp/contracts';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { CONFIG, GatewayConfig } from '../config';
import { CurrentActor, requireId } from '../http/decorators';
import { InternalClient, WORKLOAD_SERVICE } from '../http/internal.client';
import { page } from '../http/paging';
import { withAbsoluteEndpoint } from '../http/public-url';
import { NoQuery, Paging, parseOr422 } from '../http/validation';

interface ProtonDto {
  id: string;
  endpoint: string;
  [key: string]: unknown;
}


/** Protons (replica sets) of a workload, down to each replica's live status. */
@Controller('api/v2/workloads/:id/protons')
export class ProtonsController {
  constructor(@Inject(WORKLOAD_SERVICE) private readonly workloads: InternalClient, @Inject(CONFIG) private readonly config: GatewayConfig) {}

  @Get()
  async list(@Param('id') id: string, @Query() query: unknown, @Req() request: FastifyRequest, @CurrentActor() actor: Actor) {
    const q = parseOr422(z.strictObject(Paging), query, 'query');
    const result = await this.workloads.get<{ totalCount: number; data: ProtonDto[] }>(
      `/internal/workloads/${requireId(id, 'Workload')}/protons?offset=${q.offset}&limit=${q.limit}`,
      actor,
    );
    return page(request, this.config.PUBLIC_BASE_URL, result.totalCount, result.data.map((p) => this.absolute(p)), q.offset, q.limit);
  }

  @Get(':protonId')
  async get(@Param('id') id: string, @Param('protonId') protonId: string, @Query() query: unknown, @CurrentActor() actor: Actor) {
    parseOr422(NoQuery, query, 'query');
    return this.absolute(await this.workloads.get<ProtonDto>(`/internal/workloads/${requireId(id, 'Workload')}/protons/${requireId(protonId, 'Proton')}`, actor));
  }

  /** 204 without a body until the runtime has a first snapshot of the proton. */
  @Get(':protonId/statusDetails')
  async statusDetails(
    @Param('id') id: string,
    @Param('protonId') protonId: string,
    @Query() query: unknown,
    @CurrentActor() actor: Actor,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    parseOr422(NoQuery, query, 'query');
    const { snapshot } = await this.workloads.get<{ snapshot: unknown }>(
      `/internal/workloads/${requireId(id, 'Workload')}/protons/${requireId(protonId, 'Proton')}/status-details`,
      actor,
    );
    if (snapshot === null) {
      reply.status(204);
      return undefined;
    }
    return snapshot;
  }

  private absolute(p: ProtonDto): ProtonDto {
    return withAbsoluteEndpoint(this.config.PUBLIC_BASE_URL, p);
  }
}
