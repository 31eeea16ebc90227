import 'reflect-metadata';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import type { ClickHouseClient } from '@clickhouse/client';
import { Logger, type INestApplication, type LoggerService, type LogLevel } from '@nestjs/common';
import { logRequests, PinoNestLogger, requestIdOf } from '@wcp/logging';
import { traceRequests } from '@wcp/tracing';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { MessageBus } from '@wcp/messaging';
import { metricsText, observeHttp, registry } from '@wcp/metrics';
import { observedInsert } from './clickhouse/clickhouse.metrics';
import { BatchedWriter } from './clickhouse/batched.writer';
import { createClickHouseClient } from './clickhouse/clickhouse.client';
import { migrate } from './clickhouse/schema.migrator';
import type { TelemetryConfig } from './config';
import { RequestRecordConsumer } from './ingestion/request-record.consumer';
import { REQUEST_COLUMNS, type RequestRow } from './ingestion/request-row';
import { LogBatchConsumer } from './logs/log-batch.consumer';
import type { LogRow } from './logs/log-row';
import { applyLogsTtl } from './logs/logs.retention';
import { LogsRepository } from './logs/logs.repository';
import { LogsService } from './logs/logs.service';
import { StatsRepository } from './stats/stats.repository';
import { StatsService } from './stats/stats.service';
import { TelemetryModule } from './telemetry.module';

export { loadTelemetryConfig, TelemetryEnvironment, type TelemetryConfig } from './config';
export type { LogPage } from './logs/logs.service';
export type { RequestStats, SeriesBody, StatsBody, SummaryStats } from './stats/stats.service';

export interface TelemetryServiceOptions {
  /** Where request records and log batches come from; owned by the caller (not closed by `close()`). */
  bus: MessageBus;
  config: TelemetryConfig;
  /** Clock (epoch ms) for default periods and ingestion time; tests pass a fake one. */
  now?: () => number;
  /** Nest's logger (main.ts: JSON lines); without it, Nest's console logger at `logLevels`. */
  logger?: LoggerService;
  logLevels?: LogLevel[];
}

export interface TelemetryService {
  app: INestApplication;
  /** Base URL of the internal API, with the real port when config.port is 0. */
  url: string;
  /** Stops consuming, flushes the writers, closes HTTP and ClickHouse. Idempotent. */
  close(): Promise<void>;
}

/** The one batched insert into `<db>.requests`: the rows' TabSeparated lines, as one body. */
export function insertRequests(client: ClickHouseClient, db: string) {
  return async (rows: RequestRow[]): Promise<void> => {
    if (rows.length === 0) return;
    await client.insert({ table: `${db}.requests`, columns: [...REQUEST_COLUMNS], values: Readable.from([`${rows.join('\n')}\n`], { objectMode: false }), format: 'TabSeparated' });
  };
}

/**
 * Boots the telemetry service in this process: migrations and the logs TTL, the internal HTTP
 * API on config.host:config.port, then the request-record and log-batch consumers. The same
 * code runs embedded (an InProcessBus and chDB) and distributed (KafkaBus, see main.ts; a
 * server via CLICKHOUSE_URL).
 */
export async function createTelemetryService(options: TelemetryServiceOptions): Promise<TelemetryService> {
  const { bus, config } = options;
  const now = options.now ?? Date.now;
  const logger = new Logger('telemetry');
  const db = config.clickhouse.database;
  const client = createClickHouseClient(config.clickhouse);
  let app: NestFastifyApplication | undefined;
  let consumer: RequestRecordConsumer | undefined;
  let logConsumer: LogBatchConsumer | undefined;
  let writer: BatchedWriter<RequestRow> | undefined;
  let logWriter: BatchedWriter<LogRow> | undefined;
  let closing: Promise<void> | null = null;
  const close = () => {
    closing ??= (async () => {
      await Promise.all([consumer?.stop(), logConsumer?.stop()]);
      await Promise.all([writer?.close(), logWriter?.close()]);
      await app?.close();
      await client.close();
    })();
    return closing;
  };
  try {
    await migrate(client, db);
    if (await applyLogsTtl(client, db, config.logs.ttlDays)) logger.log(`logs TTL set to ${config.logs.ttlDays} days`);
    writer = new BatchedWriter(observedInsert('requests', insertRequests(client, db)), config.writer);
    const logs = new LogsRepository(client, db);
    logWriter = new BatchedWriter(observedInsert('logs', (rows: LogRow[]) => logs.insert(rows)), config.writer);
    const stats = new StatsService(new StatsRepository(client, db, !config.clickhouse.url), now);
    app = await NestFactory.create<NestFastifyApplication>(
      TelemetryModule.register(stats, new LogsService(logs)),
      new FastifyAdapter({ routerOptions: { ignoreTrailingSlash: true }, bodyLimit: 8 * 1024 * 1024, genReqId: requestIdOf, requestIdHeader: false }),
      { logger: options.logger ?? options.logLevels ?? ['error', 'warn'] },
    );
    const fastify = app.getHttpAdapter().getInstance();
    observeHttp(fastify, 'telemetry-service');
    if (options.logger instanceof PinoNestLogger) logRequests(fastify, options.logger.pino, 'debug');
    traceRequests(fastify, '@wcp/telemetry-service');
    fastify.get('/metrics', async (_request, reply) => reply.type(registry.contentType).send(await metricsText()));
    await app.listen(config.port, config.host);
    const { port } = app.getHttpServer().address() as AddressInfo;
    const log = (level: 'warn' | 'error', message: string) => (level === 'error' ? logger.error(message) : logger.warn(message));
    consumer = new RequestRecordConsumer(bus, writer, { groupId: config.groupId, concurrency: config.ingestConcurrency, now, log });
    logConsumer = new LogBatchConsumer(bus, logWriter, { groupId: config.logs.groupId, log });
    await consumer.start();
    await logConsumer.start();
    const host = config.host.includes(':') ? `[${config.host}]` : config.host;
    return { app, url: `http://${host}:${port}`, close };
  } catch (error) {
    await close().catch(() => undefined);
    throw error;
  }
}
