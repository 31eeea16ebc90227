import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { InProcessBus } from '@wcp/messaging';
import { WorkloadServiceModule } from './app.module';
import { loadConfig } from './config';
import { CommitPipeline } from './event-store/commit.pipeline';
import { localRuntime, openStorage } from './index';

/**
 * `npm run rebuild-projections`: empties every read model and replays the event store into it.
 * Run it with the service stopped, with the same DATA_DIR / MONGODB_URI as the service.
 */
async function main() {
  const config = loadConfig();
  const logger = new Logger('rebuild');
  const storage = await openStorage(config);
  const app = await NestFactory.createApplicationContext(
    WorkloadServiceModule.register({ config, bus: new InProcessBus(), eventStore: storage.eventStore, readModels: storage.readModels, lease: storage.lease, ...localRuntime(config), telemetryUrl: () => config.TELEMETRY_SERVICE_URL }),
    { logger: ['log', 'warn', 'error'] },
  );
  const started = Date.now();
  const total = await app.get(CommitPipeline).rebuild((done) => {
    if (done % 10_000 === 0) logger.log(`${done} commits replayed`);
  });
  logger.log(`rebuilt from ${total} commits in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  await app.close();
  await storage.close();
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
