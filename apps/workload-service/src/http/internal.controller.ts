import { Body, Controller, Get, Headers, HttpCode, Inject, Param, Post, Query, Res, UseInterceptors } from '@nestjs/common';
import { Actor, DomainError, HTTP_STATUS_OF_KIND } from '@wcp/contracts';
import { MESSAGE_BUS, MessageBus } from '@wcp/messaging';
import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import { ArtifactQueries } from '../artifacts/artifact.queries';
import { EVENT_STORE, EventStore } from '../event-store/event-store';
import { IdentityQueries } from '../identity/identity.queries';
import { CommandConsumer } from '../messaging/command.consumer';
import { READ_MODEL_STORE, ReadModelStore } from '../read-models/read-model-store';
import { RUNTIME_DRIVER, RuntimeDriver } from '../runtime';
import { ForwardToOwner } from '../placement/forward-to-owner.interceptor';
import { PlacementDirectory } from '../placement/placement.directory';
import { RuntimePlacement } from '../placement/runtime-placement';
import { ProtonQueries } from '../workloads/queries/proton.queries';
import { WorkloadListQuery, WorkloadQueries } from '../workloads/queries/workload.queries';

export const Paging = z.object({ offset: z.coerce.number().int().min(0).default(0), limit: z.coerce.number().int().min(1).max(1000).default(10) });

/**
 * Internal query API, for the gateway only (loopback or a private network). The gateway has
 * authenticated the caller and passes them in `x-wcp-actor`; authorization happens here, on
 * the read models. Refusals answer `{code, kind, message}` with a status the gateway ignores.
 */
@Controller('internal')
export class InternalController {
  constructor(
    private readonly workloads: WorkloadQueries,
    private readonly artifacts: ArtifactQueries,
    private readonly identity: IdentityQueries,
    private readonly protonQueries: ProtonQueries,
    @Inject(EVENT_STORE) private readonly eventStore: EventStore,
    @Inject(READ_MODEL_STORE) private readonly readModels: ReadModelStore,
    @Inject(MESSAGE_BUS) private readonly bus: MessageBus,
    private readonly commands: CommandConsumer,
    @Inject(RUNTIME_DRIVER) private readonly runtime: RuntimeDriver,
    private readonly placement: RuntimePlacement,
    private readonly directory: PlacementDirectory,
  ) {}

  @Get('health')
  async health() {
    const [eventStore, readModels, bus] = await Promise.all([this.eventStore.ping(), this.readModels.ping(), this.bus.ping()]);
    return {
      status: eventStore && readModels && bus ? 'ok' : 'degraded',
      components: { eventStore: up(eventStore), readModels: up(readModels), bus: up(bus) },
      // Commands set aside since start (unreadable, or failing on healthy stores): an operator's to look at.
      commands: { deadLettered: this.commands.deadLetters },
      // Which mechanism enforces replicas' memory and cpu on this host (docs/resources.md).
      runtime: { resources: this.runtime.enforcement ?? { memory: 'none', cpu: 'reported-only', detail: 'the runtime driver reports no enforcement' } },
      // The command partitions this instance owns, hence the workloads whose replicas it runs.
      placement: { instanceId: this.directory.instanceId, ...(this.placement.current() ?? { partitions: [], partitionCount: null }) },
    };
  }

  @Post('auth/resolve')
  @HttpCode(200)
  async resolve(@Body() body: { tokenHash?: string }, @Res({ passthrough: true }) reply: FastifyReply) {
    const actor = typeof body?.tokenHash === 'string' ? await this.identity.actorByTokenHash(body.tokenHash) : null;
    if (!actor) reply.status(404);
    return actor ?? { code: 'TOKEN_UNKNOWN', kind: 'not_found', message: 'unknown token' };
  }

  @Post('workloads/search')
  @HttpCode(200)
  async list(@Body() body: unknown, @Headers('x-wcp-actor') actorHeader: string) {
    return this.workloads.list(WorkloadListQuery.parse(body), actorOf(actorHeader));
  }

  @Post('workloads/visible')
  @HttpCode(200)
  async visible(@Body() body: unknown, @Headers('x-wcp-actor') actorHeader: string) {
    return this.workloads.visibleIds(WorkloadListQuery.parse(body), actorOf(actorHeader));
  }

  @Get('workloads/:id')
  async get(@Param('id') id: string, @Headers('x-wcp-actor') actorHeader: string, @Res({ passthrough: true }) reply: FastifyReply) {
    return answer(reply, await this.workloads.get(id, actorOf(actorHeader)));
  }

  /** The roles on a workload, for the gateway's policy check; no caller: the gateway decides. */
  @Get('workloads/:id/access')
  async access(@Param('id') id: string, @Res({ passthrough: true }) reply: FastifyReply) {
    return answer(reply, await this.workloads.grants(id));
  }

  @Get('workloads/:id/shared-roles')
  async sharedRoles(@Param('id') id: string, @Query() query: unknown, @Headers('x-wcp-actor') actorHeader: string, @Res({ passthrough: true }) reply: FastifyReply) {
    const { offset, limit } = Paging.parse(query);
    return answer(reply, await this.workloads.sharedRoles(id, actorOf(actorHeader), offset, limit));
  }

  @Get('workloads/:id/events')
  async events(@Param('id') id: string, @Query() query: unknown, @Headers('x-wcp-actor') actorHeader: string, @Res({ passthrough: true }) reply: FastifyReply) {
    const { offset, limit } = Paging.parse(query);
    return answer(reply, await this.workloads.events(id, actorOf(actorHeader), offset, limit));
  }

  @Get('workloads/:id/related')
  async related(@Param('id') id: string, @Headers('x-wcp-actor') actorHeader: string, @Res({ passthrough: true }) reply: FastifyReply) {
    return answer(reply, await this.workloads.related(id, actorOf(actorHeader)));
  }

  @Get('workloads/:id/protons')
  async protons(@Param('id') id: string, @Query() query: unknown, @Headers('x-wcp-actor') actorHeader: string, @Res({ passthrough: true }) reply: FastifyReply) {
    const { offset, limit } = Paging.parse(query);
    return answer(reply, await this.protonQueries.list(id, actorOf(actorHeader), offset, limit));
  }

  @Get('workloads/:id/protons/:protonId')
  async proton(@Param('id') id: string, @Param('protonId') protonId: string, @Headers('x-wcp-actor') actorHeader: string, @Res({ passthrough: true }) reply: FastifyReply) {
    return answer(reply, await this.protonQueries.get(id, protonId, actorOf(actorHeader)));
  }

  @Get('workloads/:id/protons/:protonId/status-details')
  @UseInterceptors(ForwardToOwner)
  async statusDetails(@Param('id') id: string, @Param('protonId') protonId: string, @Headers('x-wcp-actor') actorHeader: string, @Res({ passthrough: true }) reply: FastifyReply) {
    return answer(reply, await this.protonQueries.statusDetails(id, protonId, actorOf(actorHeader)));
  }

  @Get('workloads/:id/routes')
  @UseInterceptors(ForwardToOwner)
  async routes(@Param('id') id: string, @Query('protonId') protonId: string | undefined, @Headers('x-wcp-actor') actorHeader: string, @Res({ passthrough: true }) reply: FastifyReply) {
    return answer(reply, await this.protonQueries.routes(id, protonId || null, actorOf(actorHeader)));
  }

  @Get('artifacts')
  async artifactList(@Query() query: Record<string, unknown>, @Headers('x-wcp-actor') actorHeader: string) {
    const { offset, limit } = Paging.parse(query);
    const status = typeof query.status === 'string' ? query.status.split(',') : undefined;
    return this.artifacts.list(actorOf(actorHeader), offset, limit, status);
  }

  @Get('artifacts/:id')
  async artifact(@Param('id') id: string, @Headers('x-wcp-actor') actorHeader: string, @Res({ passthrough: true }) reply: FastifyReply) {
    return answer(reply, await this.artifacts.get(id, actorOf(actorHeader)));
  }

  @Get('users')
  async users(@Query() query: unknown) {
    const { offset, limit } = Paging.parse(query);
    return this.identity.list(offset, limit);
  }

  @Get('groups')
  async groups(@Query() query: unknown) {
    const { offset, limit } = Paging.parse(query);
    return this.identity.principals('groups', offset, limit);
  }

  @Get('orgs')
  async orgs(@Query() query: unknown) {
    const { offset, limit } = Paging.parse(query);
    return this.identity.principals('orgs', offset, limit);
  }
}

function up(ok: boolean) {
  return ok ? 'ok' : 'down';
}

export function actorOf(header: string | undefined): Actor {
  if (!header) throw new Error('missing x-wcp-actor');
  return Actor.parse(JSON.parse(Buffer.from(header, 'base64url').toString('utf8')));
}


export function answer<T extends object>(reply: FastifyReply, value: T | DomainError): T | DomainError {
  if ('code' in value && 'kind' in value) reply.status(HTTP_STATUS_OF_KIND[value.kind]);
  return value;
}
