import { Body, Controller, Get, Inject, Param, Patch, Query, Req, Res } from '@nestjs/common';
import { Actor, SharedRoleDto, UpdateSharedRolesBody } from '@wcp/contracts';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { WorkloadAccess } from '../auth/workload-access';
import { CommandSender } from '../commands/command.sender';
import { Idempotency, IdempotentRequest } from '../commands/idempotency-key';
import { CONFIG, GatewayConfig } from '../config';
import { CurrentActor } from '../http/decorators';
import { InternalClient, WORKLOAD_SERVICE } from '../http/internal.client';
import { page } from '../http/paging';
import { NoQuery, Paging, parseOr422 } from '../http/validation';

/**
 * Sharing (spec §2 Shared role, §3 sharedRoles). Reading needs the details permission, a PATCH
 * needs CAN_SHARE (ROUTE_POLICY); the workload aggregate re-checks it, looks every recipient up
 * and replaces the whole list in one event.
 */
@Controller('api/v2/workloads/:id/sharedRoles')
export class SharedRolesController {
  constructor(
    private readonly commands: CommandSender,
    @Inject(WORKLOAD_SERVICE) private readonly workloads: InternalClient,
    @Inject(CONFIG) private readonly config: GatewayConfig,
    private readonly access: WorkloadAccess,
  ) {}

  @Get()
  async list(@Param('id') workloadId: string, @Query() query: unknown, @Req() request: FastifyRequest, @CurrentActor() actor: Actor) {
    const q = parseOr422(z.strictObject(Paging), query, 'query');
    const result = await this.workloads.get<{ totalCount: number; data: SharedRoleDto[] }>(`/internal/workloads/${workloadId}/shared-roles?offset=${q.offset}&limit=${q.limit}`, actor);
    return page(request, this.config.PUBLIC_BASE_URL, result.totalCount, result.data, q.offset, q.limit);
  }

  @Patch()
  async update(@Param('id') workloadId: string, @Body() body: unknown, @Query() query: unknown, @CurrentActor() actor: Actor, @Res({ passthrough: true }) reply: FastifyReply, @Idempotency() idempotency?: IdempotentRequest) {
    parseOr422(NoQuery, query, 'query');
    const input = parseOr422(UpdateSharedRolesBody, body, 'body');
    await this.commands.send(workloadId, { name: 'UpdateSharedRoles', workloadId, input }, actor, undefined, idempotency);
    this.access.forget(workloadId);
    reply.status(204);
  }
}
