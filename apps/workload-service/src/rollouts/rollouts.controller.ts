import { Controller, Get, Headers, Param, Query, Res, UseInterceptors } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { actorOf, answer, Paging } from '../http/internal.controller';
import { ForwardToOwner } from '../placement/forward-to-owner.interceptor';
import { SettingsQueries } from './queries/settings.queries';

/**
 * Internal queries of settings, replacements and history, for the gateway (same conventions as
 * InternalController). Their replacements carry ready counts from the runtime: answered by the
 * instance that runs the workload.
 */
@Controller('internal/workloads')
@UseInterceptors(ForwardToOwner)
export class RolloutsController {
  constructor(private readonly settings: SettingsQueries) {}

  @Get(':id/settings')
  async getSettings(@Param('id') id: string, @Headers('x-wcp-actor') actor: string, @Res({ passthrough: true }) reply: FastifyReply) {
    return answer(reply, await this.settings.get(id, actorOf(actor)));
  }

  @Get(':id/replacement')
  async replacement(@Param('id') id: string, @Headers('x-wcp-actor') actor: string, @Res({ passthrough: true }) reply: FastifyReply) {
    return answer(reply, await this.settings.current(id, actorOf(actor)));
  }

  @Get(':id/history')
  async history(@Param('id') id: string, @Query() query: unknown, @Headers('x-wcp-actor') actor: string, @Res({ passthrough: true }) reply: FastifyReply) {
    const { offset, limit } = Paging.parse(query);
    return answer(reply, await this.settings.history(id, actorOf(actor), offset, limit));
  }
}
