import 'reflect-metadata';
import { INestApplication, Logger, LoggerService } from '@nestjs/common';
import type { FastifyInstance } from 'fastify';
import { createGateway, InternalTransport, loadConfig as loadGatewayConfig } from '@wcp/gateway';
import { InProcessBus } from '@wcp/messaging';
import { createTelemetryService, loadTelemetryConfig } from '@wcp/telemetry-service';
import { createWorkloadService, loadConfig as loadWorkloadConfig } from '@wcp/workload-service';
import { loadEnvironment } from './config';

/** A request to a Nest app on Fastify, answered by its router in-process. */
function inProcess(app: INestApplication): InternalTransport {
  const fastify = app.getHttpAdapter().getInstance() as FastifyInstance;
  return async ({ method, url, headers, body }) => {
    const target = new URL(url);
    const response = await fastify.inject({ method: method as 'GET', url: `${target.pathname}${target.search}`, headers, payload: body });
    return { status: response.statusCode, text: response.body };
  };
}

export interface EmbeddedSystem {
  url: string;
  close(): Promise<void>;
}

/**
 * The whole control plane in one process: the three apps, unchanged, wired by an in-process
 * bus, and the gateway's queries handed to the services' routers in-process (Fastify `inject`:
 * the same routes and handlers as over HTTP, without a socket). The services still listen on
 * loopback, for the rollout analysis and for operators. The only composition root allowed to
 * import apps.
 */
export async function startEmbedded(env?: Record<string, string | undefined>, options: { logger?: LoggerService | false } = {}): Promise<EmbeddedSystem> {
  const logger = new Logger('embedded');
  const nestLogger = options.logger;
  const started = Date.now();
  const environment = loadEnvironment(env);
  const bus = new InProcessBus();
  let telemetryUrl = '';
  const workloads = await createWorkloadService({ config: loadWorkloadConfig(environment.workloadService), bus, telemetryUrl: () => telemetryUrl, logger: nestLogger });
  const telemetry = await createTelemetryService({ config: loadTelemetryConfig(environment.telemetryService), bus, logger: nestLogger || undefined });
  telemetryUrl = telemetry.url;
  const gateway = await createGateway({
    config: loadGatewayConfig(environment.gateway),
    bus,
    workloadServiceUrl: workloads.url,
    telemetryServiceUrl: telemetry.url,
    workloadServiceTransport: inProcess(workloads.app),
    telemetryServiceTransport: inProcess(telemetry.app),
    logger: nestLogger,
  });
  logger.log(`embedded control plane ready in ${Date.now() - started} ms on ${gateway.url}/api/v2; data in ${environment.own.DATA_DIR}`);
  if (!environment.own.BOOTSTRAP_API_TOKEN) {
    logger.warn('BOOTSTRAP_API_TOKEN is not set: no admin user exists unless an earlier run created one; set it (16+ characters) to call the API');
  }
  let closing: Promise<void> | null = null;
  return {
    url: gateway.url,
    close: () =>
      (closing ??= (async () => {
        await gateway.close();
        await workloads.close();
        await telemetry.close();
        await bus.close();
      })()),
  };
}
