import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Patch, Post, Query, Req, Res } from '@nestjs/common';
import { Actor, ReplacementDto, RuntimeSettings, StartReplacementBody, UpdateSettingsBody, WorkloadDto } from '@wcp/contracts';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { CommandSender } from '../commands/command.sender';
import { Idempotency, IdempotentRequest } from '../commands/idempotency-key';
import { CONFIG, GatewayConfig } from '../config';
import { CurrentActor, requireId } from '../http/decorators';
import { InternalClient, TELEMETRY_SERVICE, WORKLOAD_SERVICE } from '../http/internal.client';
import { page } from '../http/paging';
import { withAbsoluteEndpoint } from '../http/public-url';
import { EmptyBody, NoQuery, Paging, parseOr422 } from '../http/validation';

/** `GET /workloads/{id}/settings`, and the answer of a PATCH that changes nothing. */
export interface SettingsDto {
  runtime: RuntimeSettings;
  replacement: ReplacementDto | null;
}

/** What `UpdateSettings` answers: a started rolling replacement (202), or the same runtime again (200). */
export type UpdateSettingsResult = { kind: 'replacement'; replacement: ReplacementDto } | { kind: 'unchanged'; settings: SettingsDto };

/** What `PromoteArtifact` answers: the workload, and the instant from which statistics start afresh. */
export interface PromoteResult {
  workload: WorkloadDto;
  resetAt: string;
}

export const HistoryQuery = z.strictObject(Paging);

/**
 * Settings, replacements (rollouts), their history and promote (spec §3). The workload service
 * decides and authorizes every one of them; refusals arrive as domain errors and become
 * 400/403/404/409/422 in CommandSender and InternalClient. Every mutating route honours
 * `Idempotency-Key`: the key names the command, and the ids the command creates.
 */
@Controller('api/v2/workloads/:id')
export class ReplacementsController {
  constructor(
    private readonly commands: CommandSender,
    @Inject(WORKLOAD_SERVICE) private readonly workloads: InternalClient,
    @Inject(TELEMETRY_SERVICE) private readonly telemetry: InternalClient,
    @Inject(CONFIG) private readonly config: GatewayConfig,
  ) {}

  @Get('settings')
  async settings(@Param('id') id: string, @Query() query: unknown, @CurrentActor() actor: Actor) {
    parseOr422(NoQuery, query, 'query');
    return this.workloads.get<SettingsDto>(`/internal/workloads/${requireId(id, 'Workload')}/settings`, actor);
  }

  /** Always a rolling replacement on the same artifact; the same runtime again starts nothing (200). */
  @Patch('settings')
  async updateSettings(
    @Param('id') id: string,
    @Body() body: unknown,
    @Query() query: unknown,
    @CurrentActor() actor: Actor,
    @Res({ passthrough: true }) reply: FastifyReply,
    @Idempotency() idempotency?: IdempotentRequest,
  ) {
    parseOr422(NoQuery, query, 'query');
    const input = parseOr422(UpdateSettingsBody, body, 'body');
    const workloadId = requireId(id, 'Workload');
    const commandId = this.commands.commandId(actor, 'UpdateSettings', idempotency);
    const result = await this.commands.send<UpdateSettingsResult>(
      workloadId,
      { name: 'UpdateSettings', workloadId, ...this.newIds(commandId, idempotency), input },
      actor,
      commandId,
      idempotency,
    );
    if (result.kind === 'unchanged') {
      reply.status(200);
      return result.settings;
    }
    reply.status(202);
    return result.replacement;
  }

  @Post('replacement')
  @HttpCode(202)
  async start(@Param('id') id: string, @Body() body: unknown, @Query() query: unknown, @CurrentActor() actor: Actor, @Idempotency() idempotency?: IdempotentRequest) {
    parseOr422(NoQuery, query, 'query');
    const input = parseOr422(StartReplacementBody, body, 'body');
    const workloadId = requireId(id, 'Workload');
    const commandId = this.commands.commandId(actor, 'StartReplacement', idempotency);
    return this.commands.send<ReplacementDto>(
      workloadId,
      { name: 'StartReplacement', workloadId, ...this.newIds(commandId, idempotency), input },
      actor,
      commandId,
      idempotency,
    );
  }

  /** 404 "There is no active replacement for this workload." comes from the workload service. */
  @Get('replacement')
  async current(@Param('id') id: string, @Query() query: unknown, @CurrentActor() actor: Actor) {
    parseOr422(NoQuery, query, 'query');
    return this.workloads.get<ReplacementDto>(`/internal/workloads/${requireId(id, 'Workload')}/replacement`, actor);
  }

  /** Cancels; the previous proton keeps serving. */
  @Delete('replacement')
  @HttpCode(202)
  async cancel(@Param('id') id: string, @Query() query: unknown, @CurrentActor() actor: Actor, @Idempotency() idempotency?: IdempotentRequest) {
    parseOr422(NoQuery, query, 'query');
    return this.act('CancelReplacement', id, actor, idempotency);
  }

  /** Our extension: continues a canary step paused with `pauseMinutes: null`. */
  @Post('replacement/resume')
  @HttpCode(202)
  async resume(@Param('id') id: string, @Body() body: unknown, @Query() query: unknown, @CurrentActor() actor: Actor, @Idempotency() idempotency?: IdempotentRequest) {
    parseOr422(NoQuery, query, 'query');
    parseOr422(EmptyBody, body, 'body');
    return this.act('ResumeReplacement', id, actor, idempotency);
  }

  /** Replacements of the workload, newest first. */
  @Get('history')
  async history(@Param('id') id: string, @Query() query: unknown, @Req() request: FastifyRequest, @CurrentActor() actor: Actor) {
    const q = parseOr422(HistoryQuery, query, 'query');
    const result = await this.workloads.get<{ totalCount: number; data: ReplacementDto[] }>(
      `/internal/workloads/${requireId(id, 'Workload')}/history?offset=${q.offset}&limit=${q.limit}`,
      actor,
    );
    return page(request, this.config.PUBLIC_BASE_URL, result.totalCount, result.data, q.offset, q.limit);
  }

  /**
   * Locks the running draft artifact, then resets statistics in the telemetry service at the
   * instant the workload service recorded, as `DELETE /stats` does. A retry with the same
   * Idempotency-Key replays the promotion's answer and repeats the (idempotent) reset, so a
   * telemetry outage between the two steps is repaired by retrying.
   */
  @Post('promote')
  @HttpCode(202)
  async promote(@Param('id') id: string, @Body() body: unknown, @Query() query: unknown, @CurrentActor() actor: Actor, @Idempotency() idempotency?: IdempotentRequest) {
    parseOr422(NoQuery, query, 'query');
    parseOr422(EmptyBody, body, 'body');
    const workloadId = requireId(id, 'Workload');
    const commandId = this.commands.commandId(actor, 'PromoteArtifact', idempotency);
    const { workload, resetAt } = await this.commands.send<PromoteResult>(workloadId, { name: 'PromoteArtifact', workloadId }, actor, commandId, idempotency);
    await this.telemetry.post(`/internal/workloads/${workloadId}/stats/reset`, { resetAt }, null);
    return withAbsoluteEndpoint(this.config.PUBLIC_BASE_URL, workload);
  }

  private act(name: 'CancelReplacement' | 'ResumeReplacement', id: string, actor: Actor, idempotency: IdempotentRequest | undefined): Promise<ReplacementDto> {
    const workloadId = requireId(id, 'Workload');
    return this.commands.send<ReplacementDto>(workloadId, { name, workloadId }, actor, undefined, idempotency);
  }

  /** The replacement and its candidate proton, named here so a retried request names the same ones. */
  private newIds(commandId: string, idempotency: IdempotentRequest | undefined): { replacementId: string; candidateProtonId: string } {
    return {
      replacementId: this.commands.idFor(commandId, 'replacement', idempotency),
      candidateProtonId: this.commands.idFor(commandId, 'proton', idempotency),
    };
  }
}
