import 'reflect-metadata';
import { Topics } from '@wcp/contracts';
import { installLogger } from '@wcp/logging';
import { KafkaBus } from '@wcp/messaging';
import { watchConsumerLag } from '@wcp/metrics';
import { closeOnSignals, runMain } from '@wcp/nest-common';
import { startTracing, traceLogFields, tracingOptions } from '@wcp/tracing';
import { Logger } from '@nestjs/common';
import { createWorkloadService, loadConfig } from './index';

/** Distributed mode: this service alone, against Kafka and MongoDB from the environment. */
async function main() {
  const config = loadConfig();
  if (!config.KAFKA_BROKERS) throw new Error('invalid configuration:\n  KAFKA_BROKERS: required when the workload service runs on its own');
  const nestLogger = installLogger({ app: 'workload-service', level: config.LOG_LEVEL, format: config.LOG_FORMAT, mixin: traceLogFields });
  const tracing = startTracing(tracingOptions(config, 'workload-service'));
  const logger = new Logger('main');
  const bus = new KafkaBus({
    brokers: config.KAFKA_BROKERS,
    namespace: config.KAFKA_NAMESPACE,
    sessionTimeoutMs: config.KAFKA_SESSION_TIMEOUT_MS,
    clientId: 'workload-service',
    topics: [
      { topic: Topics.commands, partitions: config.COMMAND_PARTITIONS },
      { topic: Topics.commandResults, partitions: 1 },
      { topic: Topics.events, partitions: config.COMMAND_PARTITIONS },
      // Declared by both ends (same partitions as the telemetry service), so replica logs flow whichever starts first.
      { topic: Topics.logs, partitions: 6 },
      // Declared by both ends too: the gateway publishes samples, the autoscaler reads them.
      { topic: Topics.concurrency, partitions: 6 },
    ],
    log: (level, message) => logger[level === 'info' ? 'log' : level](message),
  });
  const service = await createWorkloadService({ config, bus, logger: nestLogger });
  watchConsumerLag(bus);
  closeOnSignals(async () => {
    await service.close();
    await bus.close();
    await tracing.shutdown();
  }, (m) => logger.log(m));
}

runMain(main);
