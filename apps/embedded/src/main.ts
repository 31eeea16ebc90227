import { installLogger } from '@wcp/logging';
import { closeOnSignals, runMain } from '@wcp/nest-common';
import { startTracing, traceLogFields, tracingOptions } from '@wcp/tracing';
import { loadEnvironment } from './config';
import { startEmbedded } from './index';

/** `npm start`: the embedded control plane; SIGINT/SIGTERM shut it down gracefully. */
async function main() {
  const { own } = loadEnvironment();
  const logger = installLogger({ app: 'embedded', level: own.LOG_LEVEL, format: own.LOG_FORMAT, mixin: traceLogFields });
  const tracing = startTracing(tracingOptions(own, 'embedded'));
  const system = await startEmbedded(undefined, { logger });
  closeOnSignals(async () => {
    await system.close();
    await tracing.shutdown();
  }, (m) => logger.log(m, 'embedded'));
}

runMain(main);
