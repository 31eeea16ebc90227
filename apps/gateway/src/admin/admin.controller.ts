import { Body, Controller, Get, HttpCode, Inject, Param, Patch, Post, Query, Req } from '@nestjs/common';
import { Actor, CreateGroupBody, CreateOrgBody, CreateUserBody, newId, UpdateUserBody, UserDto } from '@wcp/contracts';
import type { FastifyRequest } from 'fastify';
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { AuthGuard, hashToken } from '../auth/auth.guard';
import { CommandSender } from '../commands/command.sender';
import { CONFIG, GatewayConfig } from '../config';
import { CurrentActor, requireId } from '../http/decorators';
import { InternalClient, WORKLOAD_SERVICE } from '../http/internal.client';
import { page } from '../http/paging';
import { NoQuery, Paging, parseOr422 } from '../http/validation';


/**
 * Identity administration (admins only, by ROUTE_POLICY; the workload service re-checks). The
 * API token is made here and shown once in the 201 answer; only its hash travels to the
 * workload service and is stored.
 */
@Controller('api/v2/admin')
export class AdminController {
  constructor(
    private readonly commands: CommandSender,
    @Inject(WORKLOAD_SERVICE) private readonly workloads: InternalClient,
    @Inject(CONFIG) private readonly config: GatewayConfig,
    private readonly guard: AuthGuard,
  ) {}

  @Post('users')
  @HttpCode(201)
  async createUser(@Body() body: unknown, @Query() query: unknown, @CurrentActor() actor: Actor) {
    parseOr422(NoQuery, query, 'query');
    const input = parseOr422(CreateUserBody, body, 'body');
    const userId = newId();
    const apiToken = `wcp_${randomBytes(24).toString('base64url')}`;
    const created = await this.commands.send<{ id: string; username: string }>(userId, { name: 'CreateUser', userId, tokenHash: hashToken(apiToken), input }, actor);
    return { id: created.id, username: created.username, apiToken };
  }

  @Get('users')
  listUsers(@Query() query: unknown, @Req() request: FastifyRequest, @CurrentActor() actor: Actor) {
    return this.list('users', query, request, actor);
  }

  /** Merge; `groupIds` replaces the memberships. Access follows at once here, within AUTH_CACHE_MS on other gateways. */
  @Patch('users/:id')
  async updateUser(@Param('id') userId: string, @Body() body: unknown, @Query() query: unknown, @CurrentActor() actor: Actor): Promise<UserDto> {
    parseOr422(NoQuery, query, 'query');
    const input = parseOr422(UpdateUserBody, body, 'body');
    const id = requireId(userId, 'User');
    const user = await this.commands.send<UserDto>(id, { name: 'UpdateUser', userId: id, input }, actor);
    this.guard.forgetUser(id);
    return user;
  }

  @Post('groups')
  @HttpCode(201)
  async createGroup(@Body() body: unknown, @Query() query: unknown, @CurrentActor() actor: Actor) {
    parseOr422(NoQuery, query, 'query');
    const input = parseOr422(CreateGroupBody, body, 'body');
    const groupId = newId();
    return this.commands.send(groupId, { name: 'CreateGroup', groupId, input }, actor);
  }

  @Get('groups')
  listGroups(@Query() query: unknown, @Req() request: FastifyRequest, @CurrentActor() actor: Actor) {
    return this.list('groups', query, request, actor);
  }

  @Post('orgs')
  @HttpCode(201)
  async createOrg(@Body() body: unknown, @Query() query: unknown, @CurrentActor() actor: Actor) {
    parseOr422(NoQuery, query, 'query');
    const input = parseOr422(CreateOrgBody, body, 'body');
    const orgId = newId();
    return this.commands.send(orgId, { name: 'CreateOrg', orgId, input }, actor);
  }

  @Get('orgs')
  listOrgs(@Query() query: unknown, @Req() request: FastifyRequest, @CurrentActor() actor: Actor) {
    return this.list('orgs', query, request, actor);
  }

  private async list(kind: 'users' | 'groups' | 'orgs', query: unknown, request: FastifyRequest, actor: Actor) {
    const q = parseOr422(z.strictObject(Paging), query, 'query');
    const result = await this.workloads.get<{ totalCount: number; data: unknown[] }>(`/internal/${kind}?offset=${q.offset}&limit=${q.limit}`, actor);
    return page(request, this.config.PUBLIC_BASE_URL, result.totalCount, result.data, q.offset, q.limit);
  }
}
