import path from 'node:path';
import { z } from 'zod';
import { CommaList, parseConfig, Port } from '@wcp/nest-common';

const PositiveInt = z.coerce.number().int().min(1);

const Schema = z
  .object({
    /** Port of the internal HTTP API (the gateway calls it); 0 = ephemeral. */
    INTERNAL_PORT: Port.default(8082),
    HOST: z.string().min(1).default('127.0.0.1'),
    /** Set in distributed mode: request records come from Kafka. */
    KAFKA_BROKERS: CommaList,
    /** Prefix of topics and consumer groups (`<namespace>.<name>`), to run systems side by side. */
    KAFKA_NAMESPACE: z.string().min(1).optional(),
    KAFKA_CLIENT_ID: z.string().min(1).default('telemetry-service'),
    /** Consumer group of the request-record consumer. */
    KAFKA_GROUP_ID: z.string().min(1).default('telemetry-service.requests'),
    /** Consumer group of the replica-log consumer. */
    KAFKA_LOGS_GROUP_ID: z.string().min(1).default('telemetry-service.logs'),
    /** A ClickHouse server (HTTP interface). Unset: embedded chDB at CHDB_PATH. */
    CLICKHOUSE_URL: z.url().optional(),
    CLICKHOUSE_USER: z.string().optional(),
    CLICKHOUSE_PASSWORD: z.string().optional(),
    /** Database that holds the telemetry tables; table names are always qualified with it. */
    CLICKHOUSE_DATABASE: z
      .string()
      .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'must be a lowercase identifier')
      .default('telemetry'),
    DATA_DIR: z.string().min(1).default('./.data'),
    /** chDB data directory; default `<DATA_DIR>/clickhouse`. One per process (libchdb binds one). */
    CHDB_PATH: z.string().min(1).optional(),
    /**
     * Replica logs are kept this many days after their timestamp (table TTL). Applied at boot:
     * a changed value alters the table's TTL, which then also acts on lines already stored.
     */
    LOGS_TTL_DAYS: PositiveInt.max(3650).default(7),
    /**
     * Kafka partitions the request-record consumer handles at once (order holds within a
     * partition). While one batch is being inserted the next ones are fetched and parsed, and
     * they share the next insert (the writer's group commit): 1 leaves ClickHouse idle between
     * fetches.
     */
    INGEST_CONCURRENCY: PositiveInt.max(64).default(4),
    /** Each batched writer (one per table) flushes when it holds this many rows... */
    FLUSH_SIZE: PositiveInt.default(10_000),
    /** ...or this long after its oldest row was buffered, whichever comes first. */
    FLUSH_INTERVAL_MS: PositiveInt.default(1_000),
  })
  .transform((env) => ({
    host: env.HOST,
    port: env.INTERNAL_PORT,
    kafka: env.KAFKA_BROKERS ? { brokers: env.KAFKA_BROKERS, clientId: env.KAFKA_CLIENT_ID, namespace: env.KAFKA_NAMESPACE } : undefined,
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
  }));

export type TelemetryConfig = z.output<typeof Schema>;

/** Parses the environment (or any string map, e.g. an embedded launcher's overrides) once. */
export function loadTelemetryConfig(env: Record<string, string | undefined> = process.env): TelemetryConfig {
  return parseConfig(Schema, env);
}
