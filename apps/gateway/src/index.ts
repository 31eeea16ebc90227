import { Logger, LoggerService } from '@nestjs/common';
import { createLogger, logRequests, PinoNestLogger, requestIdOf } from '@wcp/logging';
import { traceLogFields, traceRequests } from '@wcp/tracing';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { Topics } from '@wcp/contracts';
import { MessageBus, RequestReplyClient } from '@wcp/messaging';
import { observeHttp, serveMetrics } from '@wcp/metrics';
import { randomUUID } from 'node:crypto';
import { createServer, IncomingMessage, ServerResponse } from 'node:http';
import { GatewayModule } from './app.module';
import { RouteAudit } from './auth/route-audit';
import { DataPlaneRoutes } from './data-plane/data-plane.routes';
import type { GatewayConfig } from './config';
import type { InternalTransport } from './http/internal.client';
import { keepConnectionForSmallRefusedBodies } from './http/refused-body.hook';

export type { InternalTransport } from './http/internal.client';

export { GatewayEnvironment, loadConfig } from './config';
export type { GatewayConfig } from './config';

/** Requests larger than this are refused with 413 before they are read further. */
export const BODY_LIMIT_BYTES = 1024 * 1024;

export interface GatewayHandle {
  app: NestFastifyApplication;
  url: string;
  close(): Promise<void>;
}

export async function createGateway(options: {
  config: GatewayConfig;
  bus: MessageBus;
  workloadServiceUrl?: string;
  telemetryServiceUrl?: string;
  /** In-process transports to the services (the embedded composition); HTTP when absent. */
  workloadServiceTransport?: InternalTransport;
  telemetryServiceTransport?: InternalTransport;
  /** Nest's logger; default JSON/pretty lines per LOG_FORMAT and LOG_LEVEL. Only a PinoNestLogger writes the per-request lines. */
  logger?: LoggerService | false;
}): Promise<GatewayHandle> {
  const { config, bus } = options;
  const logger = options.logger ?? new PinoNestLogger(createLogger({ app: 'gateway', level: config.LOG_LEVEL, format: config.LOG_FORMAT, mixin: traceLogFields }));
  const commands = new RequestReplyClient(bus, {
    requestTopic: Topics.commands,
    replyTopic: Topics.commandResults,
    replyGroupId: `gateway-replies-${randomUUID()}`,
  });
  await commands.start();
  // The data plane answers ahead of Fastify once the app is up (see DataPlaneRoutes.serve).
  let dataPlane: DataPlaneRoutes | null = null;
  const adapter = new FastifyAdapter({
    bodyLimit: BODY_LIMIT_BYTES,
    routerOptions: { ignoreTrailingSlash: true },
    trustProxy: false,
    // X-Request-Id from the caller when sane, else a UUID; echoed by logRequests.
    genReqId: requestIdOf,
    requestIdHeader: false,
    serverFactory: (handler: (req: IncomingMessage, res: ServerResponse) => void) => createServer((req, res) => dataPlane?.serve(req, res) || serveMetrics(req, res, config.METRICS_TOKEN) || handler(req, res)),
  });
  keepConnectionForSmallRefusedBodies(adapter.getInstance(), 4 * BODY_LIMIT_BYTES);
  const audit = new RouteAudit(adapter.getInstance());
  observeHttp(adapter.getInstance(), 'gateway');
  // The control plane only: the data plane and /metrics answer ahead of Fastify, without either.
  if (logger instanceof PinoNestLogger) logRequests(adapter.getInstance(), logger.pino, 'info');
  traceRequests(adapter.getInstance(), '@wcp/gateway');
  const app = await NestFactory.create<NestFastifyApplication>(
    GatewayModule.register({
      config,
      bus,
      commands,
      workloadServiceUrl: options.workloadServiceUrl ?? config.WORKLOAD_SERVICE_URL,
      telemetryServiceUrl: options.telemetryServiceUrl ?? config.TELEMETRY_SERVICE_URL,
      workloadServiceTransport: options.workloadServiceTransport,
      telemetryServiceTransport: options.telemetryServiceTransport,
      routes: audit,
    }),
    adapter,
    { logger, abortOnError: false },
  );
  const log = new Logger('Gateway');
  await app.init();
  await adapter.getInstance().ready();
  const unpoliced = audit.unpoliced();
  if (unpoliced.length > 0) {
    await app.close();
    await commands.stop();
    throw new Error(`Routes without an authorization policy in ROUTE_POLICY (@wcp/access): ${unpoliced.join(', ')}`);
  }
  dataPlane = app.get(DataPlaneRoutes);
  await app.listen(config.PORT, config.HOST);
  const address = app.getHttpServer().address() as { port: number };
  const url = `http://${config.HOST}:${address.port}`;
  log.log(`Workload API on ${url}/api/v2 (public base ${config.PUBLIC_BASE_URL})`);
  return {
    app,
    url,
    close: async () => {
      await app.close();
      await commands.stop();
    },
  };
}
