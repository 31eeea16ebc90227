import path from 'node:path';
import { z } from 'zod';
import { LoggingEnvironment } from '@wcp/logging';
import { CommaList, parseConfig, Port } from '@wcp/nest-common';
import { TracingEnvironment, tracingOptions } from '@wcp/tracing';

const PositiveInt = z.coerce.number().int().min(1);

/**
 * The telemetry service's environment. Every variable carries its description: docs/deploy.md is
 * generated from this schema (`npm run docs:deploy`), and a unit test fails when it drifts.
 */
export const TelemetryEnvironment = z.object({
  INTERNAL_PORT: Port.default(8082).describe('Port of the internal API (the gateway\'s statistics and log queries, health); `0` = ephemeral.'),
  HOST: z.string().min(1).default('127.0.0.1').describe('Address the internal API listens on; `0.0.0.0` in a container.'),
  KAFKA_BROKERS: CommaList.describe('Comma-separated Kafka bootstrap brokers: request records and replica logs come from there. Unset: an in-process bus (embedded mode only).'),
  KAFKA_NAMESPACE: z.string().min(1).optional().describe('Prefix of topics and consumer groups (`<namespace>.<name>`), to run systems side by side on one cluster.'),
  KAFKA_SESSION_TIMEOUT_MS: z.coerce.number().int().min(6000).max(300_000).default(10_000).describe('Kafka consumer session timeout (ms): how long the group waits for a silent instance before its partitions (and, for the workload service, its workloads) move to another. Within the brokers\' group.min/max.session.timeout.ms.'),
  KAFKA_CLIENT_ID: z.string().min(1).default('telemetry-service').describe('Kafka client id (broker logs and quotas).'),
  KAFKA_GROUP_ID: z.string().min(1).default('telemetry-service.requests').describe('Consumer group of the request-record consumer.'),
  KAFKA_LOGS_GROUP_ID: z.string().min(1).default('telemetry-service.logs').describe('Consumer group of the replica-log consumer.'),
  CLICKHOUSE_URL: z.url().optional().describe('A ClickHouse server (HTTP interface, e.g. `http://clickhouse:8123`). Unset: chDB embedded in this process, data at CHDB_PATH.'),
  CLICKHOUSE_USER: z.string().optional().describe('User of CLICKHOUSE_URL.'),
  CLICKHOUSE_PASSWORD: z.string().optional().describe('Password of CLICKHOUSE_USER.'),
  CLICKHOUSE_DATABASE: z
    .string()
    .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'must be a lowercase identifier')
    .default('telemetry')
    .describe('Database that holds the telemetry tables (created at boot); table names are always qualified with it.'),
  DATA_DIR: z.string().min(1).default('./.data').describe('Parent of the default CHDB_PATH (embedded ClickHouse only).'),
  CHDB_PATH: z.string().min(1).optional().describe('chDB data directory; default `<DATA_DIR>/clickhouse`. One per process (libchdb binds one). Unused with CLICKHOUSE_URL.'),
  LOGS_TTL_DAYS: PositiveInt.max(3650).default(7).describe('Replica logs are kept this many days after their timestamp (table TTL). Applied at boot: a changed value also acts on lines already stored.'),
  INGEST_CONCURRENCY: PositiveInt.max(64)
    .default(4)
    .describe('Kafka partitions the request-record consumer handles at once (order holds within a partition); while one batch is inserted the next ones are fetched and share the next insert. 1 leaves ClickHouse idle between fetches.'),
  FLUSH_SIZE: PositiveInt.default(10_000).describe('Each batched writer (one per table) flushes when it holds this many rows...'),
  FLUSH_INTERVAL_MS: PositiveInt.default(1_000).describe('...or this long after its oldest row was buffered, whichever comes first (ms).'),
  ...LoggingEnvironment.shape,
  ...TracingEnvironment.shape,
});

const Schema = TelemetryEnvironment
  .transform((env) => ({
    host: env.HOST,
    port: env.INTERNAL_PORT,
    kafka: env.KAFKA_BROKERS ? { brokers: env.KAFKA_BROKERS, clientId: env.KAFKA_CLIENT_ID, namespace: env.KAFKA_NAMESPACE, sessionTimeoutMs: env.KAFKA_SESSION_TIMEOUT_MS } : undefined,
    groupId: env.KAFKA_GROUP_ID,
    ingestConcurrency: env.INGEST_CONCURRENCY,
    logs: { groupId: env.KAFKA_LOGS_GROUP_ID, ttlDays: env.LOGS_TTL_DAYS },
    clickhouse: {
      url: env.CLICKHOUSE_URL,
      username: env.CLICKHOUSE_USER,
      password: env.CLICKHOUSE_PASSWORD,
      database: env.CLICKHOUSE_DATABASE,
      chdbPath: path.resolve(env.CHDB_PATH ?? path.join(env.DATA_DIR, 'clickhouse')),
    },
    writer: { flushSize: env.FLUSH_SIZE, flushIntervalMs: env.FLUSH_INTERVAL_MS },
    log: { level: env.LOG_LEVEL, format: env.LOG_FORMAT },
    tracing: tracingOptions(env, 'telemetry-service'),
  }));

export type TelemetryConfig = z.output<typeof Schema>;

/** Parses the environment (or any string map, e.g. an embedded launcher's overrides) once. */
export function loadTelemetryConfig(env: Record<string, string | undefined> = process.env): TelemetryConfig {
  return parseConfig(Schema, env);
}
