import { Body, Controller, Get, HttpCode, Inject, Post, Query, Req } from '@nestjs/common';
import { Actor, CreateGroupBody, CreateUserBody, newId } from '@wcp/contracts';
import type { FastifyRequest } from 'fastify';
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { hashToken } from '../auth/auth.guard';
import { CommandSender } from '../commands/command.sender';
import { CONFIG, GatewayConfig } from '../config';
import { ApiError } from '../http/api-error';
import { CurrentActor } from '../http/decorators';
import { InternalClient, WORKLOAD_SERVICE } from '../http/internal.client';
import { page } from '../http/paging';
import { NoQuery, Paging, parseOr422 } from '../http/validation';


/**
 * Identity administration. The API token is made here and shown once in the 201 answer; only
 * its hash travels to the workload service and is stored.
 */
@Controller('api/v2/admin')
export class AdminController {
  constructor(
    private readonly commands: CommandSender,
    @Inject(WORKLOAD_SERVICE) private readonly workloads: InternalClient,
    @Inject(CONFIG) private readonly config: GatewayConfig,
  ) {}

  @Post('users')
  @HttpCode(201)
  async createUser(@Body() body: unknown, @Query() query: unknown, @CurrentActor() actor: Actor) {
    requireAdmin(actor);
    parseOr422(NoQuery, query, 'query');
    const input = parseOr422(CreateUserBody, body, 'body');
    const userId = newId();
    const apiToken = `wcp_${randomBytes(24).toString('base64url')}`;
    const created = await this.commands.send<{ id: string; username: string }>(userId, { name: 'CreateUser', userId, tokenHash: hashToken(apiToken), input }, actor);
    return { id: created.id, username: created.username, apiToken };
  }

  @Get('users')
  async listUsers(@Query() query: unknown, @Req() request: FastifyRequest, @CurrentActor() actor: Actor) {
    requireAdmin(actor);
    const q = parseOr422(z.strictObject(Paging), query, 'query');
    const result = await this.workloads.get<{ totalCount: number; data: unknown[] }>(`/internal/users?offset=${q.offset}&limit=${q.limit}`, actor);
    return page(request, this.config.PUBLIC_BASE_URL, result.totalCount, result.data, q.offset, q.limit);
  }

  @Post('groups')
  @HttpCode(201)
  async createGroup(@Body() body: unknown, @Query() query: unknown, @CurrentActor() actor: Actor) {
    requireAdmin(actor);
    parseOr422(NoQuery, query, 'query');
    const input = parseOr422(CreateGroupBody, body, 'body');
    const groupId = newId();
    return this.commands.send(groupId, { name: 'CreateGroup', groupId, input }, actor);
  }
}

function requireAdmin(actor: Actor) {
  if (!actor.isAdmin) throw new ApiError(403, 'Only administrators can manage users and groups.');
}
