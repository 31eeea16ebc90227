import { Logger } from '@nestjs/common';
import { Topics } from '@wcp/contracts';
import { installLogger } from '@wcp/logging';
import { InProcessBus, KafkaBus, type MessageBus } from '@wcp/messaging';
import { watchConsumerLag } from '@wcp/metrics';
import { closeOnSignals, runMain } from '@wcp/nest-common';
import { startTracing, traceLogFields } from '@wcp/tracing';
import { loadTelemetryConfig } from './config';
import { createTelemetryService } from './index';

/**
 * Distributed mode: request records and log batches from Kafka (KAFKA_BROKERS), ClickHouse from
 * CLICKHOUSE_URL or chDB. SIGTERM/SIGINT: stop consuming, flush the writers, close HTTP and
 * ClickHouse, then the bus. Without KAFKA_BROKERS it runs on an in-process bus (useful only for
 * poking the API).
 */
async function main(): Promise<void> {
  const config = loadTelemetryConfig();
  const nestLogger = installLogger({ app: 'telemetry-service', ...config.log, mixin: traceLogFields });
  const tracing = startTracing(config.tracing);
  const logger = new Logger('telemetry');
  const bus: MessageBus = config.kafka
    ? new KafkaBus({
        brokers: config.kafka.brokers,
        clientId: config.kafka.clientId,
        namespace: config.kafka.namespace,
        sessionTimeoutMs: config.kafka.sessionTimeoutMs,
        topics: [
          { topic: Topics.requests, partitions: 6 },
          { topic: Topics.requestsDeadLetter, partitions: 1 },
          { topic: Topics.logs, partitions: 6 },
          { topic: Topics.logsDeadLetter, partitions: 1 },
        ],
        log: (level, message) => (level === 'error' ? logger.error(message) : logger.warn(message)),
      })
    : new InProcessBus();
  const service = await createTelemetryService({ bus, config, logger: nestLogger });
  if (bus instanceof KafkaBus) watchConsumerLag(bus);
  logger.log(`internal API on ${service.url}; ClickHouse ${config.clickhouse.url ?? `chDB at ${config.clickhouse.chdbPath}`}`);
  closeOnSignals(async () => {
    await service.close();
    await bus.close();
    await tracing.shutdown();
  }, (m) => logger.log(m));
}

runMain(main);
