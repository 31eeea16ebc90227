import { Logger, LoggerService } from '@nestjs/common';
import { createLogger, logRequests, PinoNestLogger, requestIdOf } from '@wcp/logging';
import { traceLogFields, traceRequests } from '@wcp/tracing';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { Topics } from '@wcp/contracts';
import { MessageBus } from '@wcp/messaging';
import { metricsText, observeHttp, registry } from '@wcp/metrics';
import mongoose, { Connection } from 'mongoose';
import { join } from 'node:path';
import { hostname } from 'node:os';
import { PlacementDirectory } from './placement/placement.directory';
import { RuntimeRebalancer } from './placement/runtime-rebalancer';
import { isWildcard } from './runtime/replica-address';
import { WorkloadServiceModule } from './app.module';
import type { ImageCatalog } from './artifacts/image-catalog.check';
import { ArtifactProjection } from './artifacts/projections/artifact.projection';
import type { WorkloadServiceConfig } from './config';
import { CommitPipeline } from './event-store/commit.pipeline';
import type { EventStore } from './event-store/event-store';
import { MongoEventStore } from './event-store/mongo.event-store';
import { SqliteEventStore } from './event-store/sqlite.event-store';
import { BootstrapAdminService } from './identity/bootstrap-admin.service';
import { IdentityProjection } from './identity/projections/identity.projection';
import { CommandConsumer } from './messaging/command.consumer';
import { OutboxRelay } from './messaging/outbox.relay';
import { InternalExceptionFilter } from './http/internal-exception.filter';
import { MongoOutboxLease, OutboxLease, soleOwner } from './messaging/outbox.lease';
import { EmbeddedReadModelStore } from './read-models/embedded.read-model-store';
import { MongoReadModelStore } from './read-models/mongo.read-model-store';
import type { ReadModelStore } from './read-models/read-model-store';
import { WorkloadProjection } from './workloads/projections/workload.projection';
import { ProtonProjection } from './workloads/projections/proton.projection';
import { LifecycleSaga } from './workloads/sagas/lifecycle.saga';
import { AutoscalerSaga } from './workloads/sagas/autoscaler.saga';
import { CapacityReleaseSaga } from './workloads/capacity/capacity-release.saga';
import { ReplacementProjection } from './rollouts/projections/replacement.projection';
import { ReplacementSaga } from './rollouts/sagas/replacement.saga';
import { imageRefusal, LocalProcessDriver, RuntimeDriver } from './runtime';

export { loadConfig, WorkloadServiceEnvironment } from './config';
export type { WorkloadServiceConfig } from './config';
export { hashToken } from './identity/bootstrap-admin.service';

export interface Storage {
  eventStore: EventStore;
  readModels: ReadModelStore;
  /** Who publishes the outbox when several instances share the store. */
  lease: OutboxLease;
  close(): Promise<void>;
}

/** MongoDB when MONGODB_URI is set, else SQLite files under DATA_DIR. The only place that knows. */
export async function openStorage(config: WorkloadServiceConfig): Promise<Storage> {
  if (config.MONGODB_URI) {
    const connection: Connection = await mongoose
      .createConnection(config.MONGODB_URI, { dbName: config.MONGODB_DB, serverSelectionTimeoutMS: 10_000, autoIndex: false })
      .asPromise();
    const eventStore = new MongoEventStore(connection);
    await eventStore.init();
    return { eventStore, readModels: new MongoReadModelStore(connection), lease: new MongoOutboxLease(connection, config.OUTBOX_LEASE_MS),
      close: async () => {
        await eventStore.close();
        await connection.close();
      },
    };
  }
  const eventStore = new SqliteEventStore(join(config.DATA_DIR, 'workload-service', 'events.sqlite'));
  const readModels = new EmbeddedReadModelStore(join(config.DATA_DIR, 'workload-service', 'read-models.sqlite'));
  return {
    eventStore,
    readModels,
    lease: soleOwner,
    close: async () => {
      await eventStore.close();
      await readModels.close();
    },
  };
}

export interface WorkloadServiceHandle {
  app: NestFastifyApplication;
  url: string;
  close(): Promise<void>;
}

/** The local process runtime and the image catalog it runs, from the configuration. */
export function localRuntime(config: WorkloadServiceConfig): { runtime: RuntimeDriver; imageCatalog: ImageCatalog } {
  const catalogDirs = config.IMAGE_CATALOG_DIRS ?? [];
  const runtime = new LocalProcessDriver({
    stateDir: config.RUNTIME_STATE_DIR ?? join(config.DATA_DIR, 'workload-service', 'runtime'),
    catalogDirs,
    baseEnv: { PATH: config.PATH, TZ: 'UTC' },
    bindHost: config.RUNTIME_BIND_HOST,
    advertiseHost: config.RUNTIME_ADVERTISE_HOST,
    readyTimeoutMs: config.REPLICA_READY_TIMEOUT_MS,
    maxRestarts: config.REPLICA_MAX_RESTARTS,
    cgroups: config.RUNTIME_CGROUPS,
    logs: { pollMs: config.REPLICA_LOG_POLL_MS, maxBytes: config.REPLICA_LOG_MAX_BYTES, files: config.REPLICA_LOG_FILES },
  });
  return { runtime, imageCatalog: { refusal: (imageUri, entrypoint) => imageRefusal(imageUri, { catalogDirs, entrypoint }) } };
}

/**
 * Boots the workload service: storage, projections caught up, bootstrap admin, the command
 * group joined (so the instance knows which workloads it runs), runtime recovered for those,
 * outbox relay, commands opened, internal HTTP API, placement claimed. Shutdown runs in the
 * reverse order so no command is half-handled.
 */
export async function createWorkloadService(options: {
  config: WorkloadServiceConfig;
  bus: MessageBus;
  logger?: LoggerService | false;
  /** Embedded mode learns the telemetry service's URL after this service started. */
  telemetryUrl?: () => string;
}): Promise<WorkloadServiceHandle> {
  const logger = new Logger('WorkloadService');
  const nestLogger = options.logger ?? new PinoNestLogger(createLogger({ app: 'workload-service', level: options.config.LOG_LEVEL, format: options.config.LOG_FORMAT, mixin: traceLogFields }));
  const storage = await openStorage(options.config);
  const { runtime, imageCatalog } = localRuntime(options.config);
  // Before recovery, so adopted replicas resume shipping where the last run stopped.
  const logShipping = runtime.shipLogs?.((batch) => options.bus.publish(Topics.logs, [{ key: batch.workloadId, value: batch }]));
  const app = await NestFactory.create<NestFastifyApplication>(
    WorkloadServiceModule.register({ config: options.config, bus: options.bus, eventStore: storage.eventStore, readModels: storage.readModels, lease: storage.lease, imageCatalog, runtime, telemetryUrl: options.telemetryUrl ?? (() => options.config.TELEMETRY_SERVICE_URL) }),
    // The gateway's X-Request-Id, when it sent one, names the internal request too.
    new FastifyAdapter({ bodyLimit: 16 * 1024 * 1024, genReqId: requestIdOf, requestIdHeader: false }),
    { logger: nestLogger, abortOnError: false },
  );
  app.useGlobalFilters(new InternalExceptionFilter());
  const fastify = app.getHttpAdapter().getInstance();
  observeHttp(fastify, 'workload-service');
  // Internal requests (the gateway's queries, token and route look-ups) are many: their lines are debug.
  if (nestLogger instanceof PinoNestLogger) logRequests(fastify, nestLogger.pino, 'debug');
  traceRequests(fastify, '@wcp/workload-service');
  fastify.get('/metrics', async (_request, reply) => reply.type(registry.contentType).send(await metricsText()));
  await app.init();
  for (const p of [app.get(ArtifactProjection), app.get(WorkloadProjection), app.get(ProtonProjection), app.get(ReplacementProjection), app.get(IdentityProjection)]) await p.init();
  const pipeline = app.get(CommitPipeline);
  const caughtUp = await pipeline.catchUp();
  if (caughtUp > 0) logger.log(`projected ${caughtUp} commits left over from the last run`);
  await app.get(BootstrapAdminService).ensure();
  const lifecycle = app.get(LifecycleSaga);
  const replacements = app.get(ReplacementSaga);
  const consumer = app.get(CommandConsumer);
  // One recovery for both sagas: the runtime keeps what either wants and kills the rest.
  await lifecycle.recover(await replacements.desiredProtons());
  // This instance runs the workloads whose command partitions it owns: learn them, then run those.
  await consumer.join();
  await lifecycle.reconcile(await replacements.desiredProtons());
  await replacements.start();
  const autoscaler = app.get(AutoscalerSaga);
  const outbox = app.get(OutboxRelay);
  pipeline.subscribe(outbox);
  pipeline.subscribe(lifecycle);
  pipeline.subscribe(replacements);
  pipeline.subscribe(autoscaler);
  const capacity = app.get(CapacityReleaseSaga);
  pipeline.subscribe(capacity);
  await capacity.start();
  await autoscaler.start();
  outbox.start();
  consumer.open();
  const rebalancer = app.get(RuntimeRebalancer);
  rebalancer.start();
  await app.listen(options.config.INTERNAL_PORT, options.config.HOST);
  const address = app.getHttpServer().address() as { port: number };
  const url = `http://${options.config.HOST}:${address.port}`;
  const advertised = options.config.INTERNAL_ADVERTISE_URL ?? `http://${isWildcard(options.config.HOST) ? hostname() : options.config.HOST}:${address.port}`;
  const directory = app.get(PlacementDirectory);
  await directory.start(advertised);
  logger.log(`internal API on ${url} (${options.config.MONGODB_URI ? 'MongoDB' : `embedded store in ${options.config.DATA_DIR}`})`);
  return {
    app,
    url,
    close: async () => {
      // Before the group is left: leaving owns nothing, and that must not release (stop) replicas a graceful restart keeps.
      await rebalancer.stop();
      await consumer.stop();
      await directory.stop();
      await outbox.stop();
      await autoscaler.shutdown();
      await capacity.shutdown();
      await replacements.shutdown();
      await lifecycle.shutdown();
      // After the replicas stopped (their last lines), before the caller closes the bus.
      await logShipping?.stop();
      await app.close();
      await storage.close();
    },
  };
}

export { CommitPipeline, openStorage as openWorkloadStorage };
