import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { Topics } from '@wcp/contracts';
import { installLogger } from '@wcp/logging';
import { KafkaBus } from '@wcp/messaging';
import { watchConsumerLag } from '@wcp/metrics';
import { closeOnSignals, runMain } from '@wcp/nest-common';
import { startTracing, traceLogFields, tracingOptions } from '@wcp/tracing';
import { createGateway, loadConfig } from './index';

/** Distributed mode: the gateway alone, with Kafka and the services' URLs from the environment. */
async function main() {
  const config = loadConfig();
  if (!config.KAFKA_BROKERS) throw new Error('invalid configuration:\n  KAFKA_BROKERS: required when the gateway runs on its own');
  const nestLogger = installLogger({ app: 'gateway', level: config.LOG_LEVEL, format: config.LOG_FORMAT, mixin: traceLogFields });
  const tracing = startTracing(tracingOptions(config, 'gateway'));
  const logger = new Logger('main');
  const bus = new KafkaBus({
    brokers: config.KAFKA_BROKERS,
    namespace: config.KAFKA_NAMESPACE,
    sessionTimeoutMs: config.KAFKA_SESSION_TIMEOUT_MS,
    clientId: 'gateway',
    topics: [
      { topic: Topics.commands, partitions: 6 },
      { topic: Topics.commandResults, partitions: 1 },
      { topic: Topics.requests, partitions: 6 },
      { topic: Topics.concurrency, partitions: 6 },
    ],
    log: (level, message) => logger[level === 'info' ? 'log' : level](message),
  });
  const gateway = await createGateway({ config, bus, logger: nestLogger });
  watchConsumerLag(bus);
  closeOnSignals(async () => {
    await gateway.close();
    await bus.close();
    await tracing.shutdown();
  }, (m) => logger.log(m));
}

runMain(main);
