import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { createGateway, loadConfig as loadGatewayConfig } from '@wcp/gateway';
import { InProcessBus } from '@wcp/messaging';
import { createTelemetryService, loadTelemetryConfig } from '@wcp/telemetry-service';
import { createWorkloadService, loadConfig as loadWorkloadConfig } from '@wcp/workload-service';
import { loadEnvironment } from './config';

export interface EmbeddedSystem {
  url: string;
  close(): Promise<void>;
}

/**
 * The whole control plane in one process: the three apps, unchanged, wired by an in-process
 * bus and loopback HTTP. The only composition root allowed to import apps.
 */
export async function startEmbedded(env?: Record<string, string | undefined>): Promise<EmbeddedSystem> {
  const logger = new Logger('embedded');
  const started = Date.now();
  const environment = loadEnvironment(env);
  const bus = new InProcessBus();
  let telemetryUrl = '';
  const workloads = await createWorkloadService({ config: loadWorkloadConfig(environment.workloadService), bus, telemetryUrl: () => telemetryUrl });
  const telemetry = await createTelemetryService({ config: loadTelemetryConfig(environment.telemetryService), bus });
  telemetryUrl = telemetry.url;
  const gateway = await createGateway({
    config: loadGatewayConfig(environment.gateway),
    bus,
    workloadServiceUrl: workloads.url,
    telemetryServiceUrl: telemetry.url,
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
