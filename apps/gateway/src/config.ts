import { LoggingEnvironment } from '@wcp/logging';
import { CommaList, parseConfig, Port } from '@wcp/nest-common';
import { TracingEnvironment } from '@wcp/tracing';
import { z } from 'zod';

/**
 * The gateway's environment. Every variable carries its description: docs/deploy.md is generated
 * from this schema (`npm run docs:deploy`), and a unit test fails when it drifts.
 */
export const GatewayEnvironment = z.object({
  HOST: z.string().default('127.0.0.1').describe('Address the API listens on; `0.0.0.0` in a container.'),
  PORT: Port.default(8080).describe('Port of the public API.'),
  PUBLIC_BASE_URL: z.url().optional().describe('Base of the `endpoint`, `next` and `previous` URLs in responses, as clients reach the gateway; default `http://127.0.0.1:$PORT`.'),
  KAFKA_BROKERS: CommaList.describe('Comma-separated Kafka bootstrap brokers. Unset: an in-process bus (embedded mode only).'),
  KAFKA_NAMESPACE: z.string().regex(/^[A-Za-z0-9._-]+$/).optional().describe('Prefix of every Kafka topic and consumer group, so several systems can share one cluster.'),
  KAFKA_SESSION_TIMEOUT_MS: z.coerce.number().int().min(6000).max(300_000).default(10_000).describe('Kafka consumer session timeout (ms): how long the group waits for a silent instance before its partitions (and, for the workload service, its workloads) move to another. Within the brokers\' group.min/max.session.timeout.ms.'),
  WORKLOAD_SERVICE_URL: z.url().default('http://127.0.0.1:8081').describe('The workload service\'s internal API (queries, token resolution, routes).'),
  TELEMETRY_SERVICE_URL: z.url().default('http://127.0.0.1:8082').describe('The telemetry service\'s internal API (statistics, logs).'),
  COMMAND_TIMEOUT_MS: z.coerce.number().int().min(100).max(300_000).default(15_000).describe('How long a command waits for the workload service\'s result before the gateway answers 504 (ms).'),
  RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(0).default(6000).describe('Control plane (the REST API): requests per minute per API token; bursts up to the same number. 0 disables.'),
  DATA_PLANE_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(0).default(600_000).describe('Data plane (`/endpoints/...`): requests per minute per API token, limited apart from the control plane. 0 disables.'),
  AUTH_CACHE_MS: z.coerce.number().int().min(0).max(2000).default(1000).describe('How long a resolved token (and the caller\'s groups and organization) is trusted before asking the workload service again: the bound on how late a membership change takes effect (ms).'),
  ACCESS_CACHE_MS: z.coerce.number().int().min(0).max(2000).default(1000).describe('How long a workload\'s roles are reused by the policy check: the bound on how late a share change reaches this gateway (ms).'),
  DATA_PLANE_BODY_LIMIT_BYTES: z.coerce.number().int().min(1).default(64 * 1024 * 1024).describe('Data plane: largest request body forwarded to a replica, counted while streaming (413 beyond).'),
  DATA_PLANE_UPSTREAM_TIMEOUT_MS: z.coerce.number().int().min(100).max(3_600_000).default(120_000).describe('Data plane: a replica silent for this long (no response, no bytes) fails the request with 504 (ms).'),
  DATA_PLANE_ROUTE_CACHE_MS: z.coerce.number().int().min(0).max(60_000).default(1000).describe('Data plane: how long a workload\'s ready replicas are reused before asking the workload service again (ms).'),
  DATA_PLANE_CONCURRENCY_SAMPLE_MS: z.coerce.number().int().min(50).max(60_000).default(1000).describe('Data plane: each window this long, one `ConcurrencySample` (mean and max in-flight requests) per active proton goes to `workload.concurrency.v1`, the autoscaler\'s input (ms).'),
  DATA_PLANE_HOLD_MAX_REQUESTS: z.coerce.number().int().min(0).max(100_000).default(100).describe('Data plane, scale to zero: most requests held per workload while it has no ready replica and one is starting; beyond it `503` with `Retry-After`. 0 holds none.'),
  DATA_PLANE_HOLD_MAX_TOTAL: z.coerce.number().int().min(0).max(1_000_000).default(10_000).describe('Data plane, scale to zero: most requests held by this gateway across all workloads (bounds its memory: a held request keeps its headers and socket buffer, its body stays unread); beyond it `503` with `Retry-After`.'),
  DATA_PLANE_HOLD_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(30_000).describe('Data plane, scale to zero: longest a request is held waiting for a ready replica before `503` with `Retry-After` (ms). Should exceed a replica\'s start time.'),
  DATA_PLANE_HOLD_POLL_MS: z.coerce.number().int().min(10).max(10_000).default(150).describe('Data plane, scale to zero: while requests are held, how often the workload service is asked whether a replica is ready (ms); any event of the workload asks at once too.'),
  REQUEST_RECORDS_BUFFER: z.coerce.number().int().min(1).default(50_000).describe('Request records held in memory while the bus is slow or down; beyond it new records are dropped and counted.'),
  REQUEST_RECORDS_BATCH: z.coerce.number().int().min(1).max(10_000).default(500).describe('Request records per publish; a full batch is published at once, a partial one every REQUEST_RECORDS_FLUSH_MS.'),
  REQUEST_RECORDS_FLUSH_MS: z.coerce.number().int().min(10).max(60_000).default(500).describe('Longest wait before a partial batch of request records is published (ms).'),
  METRICS_TOKEN: z.union([z.literal(''), z.string().min(16)]).optional().transform((v) => v || undefined).describe('When set, `GET /metrics` (Prometheus, outside the API prefix) requires `Authorization: Bearer <this>`; unset, it is open: keep the port\'s `/metrics` off the public network (docs/operations.md).'),
  ...LoggingEnvironment.shape,
  ...TracingEnvironment.shape,
  METRICS_WORKLOAD_LABELS: z.coerce.number().int().min(0).max(10_000).default(100).describe('Data-plane metrics: distinct workload ids that get their own series; later ones are counted under `workload="other"`.'),
});

const Schema = GatewayEnvironment
  .transform((c) => ({ ...c, PUBLIC_BASE_URL: (c.PUBLIC_BASE_URL ?? `http://127.0.0.1:${c.PORT}`).replace(/\/+$/, '') }));

export type GatewayConfig = z.output<typeof Schema>;

export function loadConfig(env: Record<string, string | undefined> = process.env): GatewayConfig {
  return parseConfig(Schema, env);
}

export const CONFIG = Symbol('GATEWAY_CONFIG');
