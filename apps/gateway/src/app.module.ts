import { DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import { MESSAGE_BUS, MessageBus, RequestReplyClient } from '@wcp/messaging';
import { AdminController } from './admin/admin.controller';
import { ArtifactsController } from './artifacts/artifacts.controller';
import { AuthGuard } from './auth/auth.guard';
import { RateLimiter } from './auth/rate-limiter';
import { RouteAudit } from './auth/route-audit';
import { WorkloadAccess } from './auth/workload-access';
import { COMMAND_CLIENT, CommandSender } from './commands/command.sender';
import { CONFIG, GatewayConfig } from './config';
import { dataPlaneProviders } from './data-plane/data-plane.providers';
import { HealthController } from './health/health.controller';
import { ApiExceptionFilter } from './http/api-exception.filter';
import { InternalClient, InternalTransport, TELEMETRY_SERVICE, WORKLOAD_SERVICE } from './http/internal.client';
import { LogsController } from './logs/logs.controller';
import { OpenApiController } from './openapi/openapi.controller';
import { ProtonsController } from './protons/protons.controller';
import { ReplacementsController } from './replacements/replacements.controller';
import { SharedRolesController } from './sharing/shared-roles.controller';
import { StatsController } from './stats/stats.controller';
import { StatsEnricher } from './workloads/stats.enricher';
import { WorkloadsController } from './workloads/workloads.controller';

export interface GatewayDeps {
  config: GatewayConfig;
  bus: MessageBus;
  commands: RequestReplyClient;
  workloadServiceUrl: string;
  telemetryServiceUrl: string;
  /** In-process transports to the services (embedded mode); HTTP when absent. */
  workloadServiceTransport?: InternalTransport;
  telemetryServiceTransport?: InternalTransport;
  /** The routes the router registered: tells 405 from 404. */
  routes?: RouteAudit;
}

@Module({})
export class GatewayModule {
  static register(deps: GatewayDeps): DynamicModule {
    return {
      module: GatewayModule,
      controllers: [HealthController, OpenApiController, StatsController, WorkloadsController, ProtonsController, ReplacementsController, SharedRolesController, ArtifactsController, AdminController, LogsController],
      providers: [
        { provide: CONFIG, useValue: deps.config },
        { provide: RouteAudit, useValue: deps.routes ?? null },
        { provide: MESSAGE_BUS, useValue: deps.bus },
        { provide: COMMAND_CLIENT, useValue: deps.commands },
        { provide: WORKLOAD_SERVICE, useValue: new InternalClient(deps.workloadServiceUrl, 'workload service', deps.workloadServiceTransport) },
        { provide: TELEMETRY_SERVICE, useValue: new InternalClient(deps.telemetryServiceUrl, 'telemetry service', deps.telemetryServiceTransport) },
        // One AuthGuard instance (ROUTE_POLICY): global for Nest routes, and called by the data plane's Fastify routes.
        AuthGuard,
        { provide: APP_GUARD, useExisting: AuthGuard },
        { provide: APP_FILTER, useClass: ApiExceptionFilter },
        RateLimiter,
        WorkloadAccess,
        CommandSender,
        StatsEnricher,
        ...dataPlaneProviders,
      ],
    };
  }
}
