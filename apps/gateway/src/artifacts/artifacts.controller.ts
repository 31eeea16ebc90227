import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Patch, Post, Query, Req, Res } from '@nestjs/common';
import { Actor, InputArtifact, PatchArtifactBody } from '@wcp/contracts';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { CommandSender } from '../commands/command.sender';
import { Idempotency, IdempotentRequest } from '../commands/idempotency-key';
import { CONFIG, GatewayConfig } from '../config';
import { CurrentActor, requireId } from '../http/decorators';
import { InternalClient, WORKLOAD_SERVICE } from '../http/internal.client';
import { page } from '../http/paging';
import { NoQuery, Paging, QueryArrayOf, parseOr422 } from '../http/validation';

export const ArtifactListQuery = z.strictObject({ status: QueryArrayOf(z.enum(['draft', 'locked'])), ...Paging });

@Controller('api/v2/artifacts')
export class ArtifactsController {
  constructor(
    private readonly commands: CommandSender,
    @Inject(WORKLOAD_SERVICE) private readonly workloads: InternalClient,
    @Inject(CONFIG) private readonly config: GatewayConfig,
  ) {}

  @Post()
  @HttpCode(201)
  async create(@Body() body: unknown, @Query() query: unknown, @CurrentActor() actor: Actor, @Idempotency() idempotency?: IdempotentRequest) {
    parseOr422(NoQuery, query, 'query');
    const input = parseOr422(InputArtifact, body, 'body');
    const commandId = this.commands.commandId(actor, 'CreateArtifact', idempotency);
    const artifactId = this.commands.idFor(commandId, 'artifact', idempotency);
    return this.commands.send(artifactId, { name: 'CreateArtifact', artifactId, input }, actor, commandId, idempotency);
  }

  @Get()
  async list(@Query() query: unknown, @Req() request: FastifyRequest, @CurrentActor() actor: Actor) {
    const q = parseOr422(ArtifactListQuery, query, 'query');
    const status = q.status?.length ? `&status=${q.status.join(',')}` : '';
    const result = await this.workloads.get<{ totalCount: number; data: unknown[] }>(`/internal/artifacts?offset=${q.offset}&limit=${q.limit}${status}`, actor);
    return page(request, this.config.PUBLIC_BASE_URL, result.totalCount, result.data, q.offset, q.limit);
  }

  @Get(':id')
  async get(@Param('id') id: string, @Query() query: unknown, @CurrentActor() actor: Actor) {
    parseOr422(NoQuery, query, 'query');
    return this.workloads.get(`/internal/artifacts/${requireId(id, 'Artifact')}`, actor);
  }

  @Patch(':id')
  async update(@Param('id') id: string, @Body() body: unknown, @Query() query: unknown, @CurrentActor() actor: Actor, @Idempotency() idempotency?: IdempotentRequest) {
    parseOr422(NoQuery, query, 'query');
    const input = parseOr422(PatchArtifactBody, body, 'body');
    const artifactId = requireId(id, 'Artifact');
    return this.commands.send(artifactId, { name: 'UpdateArtifact', artifactId, input }, actor, undefined, idempotency);
  }

  @Delete(':id')
  async remove(@Param('id') id: string, @Query() query: unknown, @CurrentActor() actor: Actor, @Res({ passthrough: true }) reply: FastifyReply, @Idempotency() idempotency?: IdempotentRequest) {
    parseOr422(NoQuery, query, 'query');
    const artifactId = requireId(id, 'Artifact');
    await this.commands.send(artifactId, { name: 'DeleteArtifact', artifactId }, actor, undefined, idempotency);
    reply.status(204);
  }
}
