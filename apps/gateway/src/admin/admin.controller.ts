import { Body, Controller, Get, HttpCode, Inject, Param, Patch, Post, Query, Req } from '@nestjs/common';
import { Actor, CreateGroupBody, CreateOrgBody, CreateUserBody, UpdateUserBody, UserDto } from '@wcp/contracts';
import { ApiError } from '../http/api-error';
import type { FastifyRequest } from 'fastify';
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { AuthGuard, hashToken } from '../auth/auth.guard';
import { CommandSender } from '../commands/command.sender';
import { Idempotency, IdempotentRequest } from '../commands/idempotency-key';
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
  async createUser(@Body() body: unknown, @Query() query: unknown, @CurrentActor() actor: Actor, @Idempotency() idempotency?: IdempotentRequest) {
    parseOr422(NoQuery, query, 'query');
    const input = parseOr422(CreateUserBody, body, 'body');
    const commandId = this.commands.commandId(actor, 'CreateUser', idempotency);
    const userId = this.commands.idFor(commandId, 'user', idempotency);
    const apiToken = `wcp_${randomBytes(24).toString('base64url')}`;
    const created = await this.commands.send<{ id: string; username: string; replayed?: boolean }>(
      userId,
      { name: 'CreateUser', userId, tokenHash: hashToken(apiToken), input },
      actor,
      commandId,
      idempotency,
    );
    // Only the token's hash is stored, so a retry cannot show the token again.
    if (created.replayed) throw new ApiError(409, `User ${created.username} (${created.id}) was created by the first request with this Idempotency-Key; its API token was shown once, in that answer.`);
    return { id: created.id, username: created.username, apiToken };
  }

  @Get('users')
  listUsers(@Query() query: unknown, @Req() request: FastifyRequest, @CurrentActor() actor: Actor) {
    return this.list('users', query, request, actor);
  }

  /** Merge; `groupIds` replaces the memberships. Access follows at once here, within AUTH_CACHE_MS on other gateways. */
  @Patch('users/:id')
  async updateUser(@Param('id') userId: string, @Body() body: unknown, @Query() query: unknown, @CurrentActor() actor: Actor, @Idempotency() idempotency?: IdempotentRequest): Promise<UserDto> {
    parseOr422(NoQuery, query, 'query');
    const input = parseOr422(UpdateUserBody, body, 'body');
    const id = requireId(userId, 'User');
    const user = await this.commands.send<UserDto>(id, { name: 'UpdateUser', userId: id, input }, actor, undefined, idempotency);
    this.guard.forgetUser(id);
    return user;
  }

  @Post('groups')
  @HttpCode(201)
  async createGroup(@Body() body: unknown, @Query() query: unknown, @CurrentActor() actor: Actor, @Idempotency() idempotency?: IdempotentRequest) {
    parseOr422(NoQuery, query, 'query');
    const input = parseOr422(CreateGroupBody, body, 'body');
    const commandId = this.commands.commandId(actor, 'CreateGroup', idempotency);
    const groupId = this.commands.idFor(commandId, 'group', idempotency);
    return this.commands.send(groupId, { name: 'CreateGroup', groupId, input }, actor, commandId, idempotency);
  }

  @Get('groups')
  listGroups(@Query() query: unknown, @Req() request: FastifyRequest, @CurrentActor() actor: Actor) {
    return this.list('groups', query, request, actor);
  }

  @Post('orgs')
  @HttpCode(201)
  async createOrg(@Body() body: unknown, @Query() query: unknown, @CurrentActor() actor: Actor, @Idempotency() idempotency?: IdempotentRequest) {
    parseOr422(NoQuery, query, 'query');
    const input = parseOr422(CreateOrgBody, body, 'body');
    const commandId = this.commands.commandId(actor, 'CreateOrg', idempotency);
    const orgId = this.commands.idFor(commandId, 'org', idempotency);
    return this.commands.send(orgId, { name: 'CreateOrg', orgId, input }, actor, commandId, idempotency);
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
