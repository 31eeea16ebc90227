import { CommaList, parseConfig, Port } from '@wcp/nest-common';
import { z } from 'zod';

const Schema = z
  .object({
    HOST: z.string().default('127.0.0.1'),
    PORT: Port.default(8080),
    /** Base of `endpoint`, `next` and `previous` URLs; defaults to http://127.0.0.1:$PORT. */
    PUBLIC_BASE_URL: z.url().optional(),
    KAFKA_BROKERS: CommaList,
    /** Prefix of every Kafka topic and group, so systems can share a cluster. */
    KAFKA_NAMESPACE: z.string().regex(/^[A-Za-z0-9._-]+$/).optional(),
    WORKLOAD_SERVICE_URL: z.url().default('http://127.0.0.1:8081'),
    TELEMETRY_SERVICE_URL: z.url().default('http://127.0.0.1:8082'),
    /** How long a command waits for the workload service before the gateway answers 504. */
    COMMAND_TIMEOUT_MS: z.coerce.number().int().min(100).max(300_000).default(15_000),
    /** Control plane (the REST API): requests per minute per API token; bursts up to the same number. 0 disables. */
    RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(0).default(6000),
    /** Data plane (`/endpoints/...`): requests per minute per API token, limited apart from the control plane. 0 disables. */
    DATA_PLANE_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(0).default(600_000),
    /**
     * How long a resolved token (and the caller's groups and organization) is trusted before
     * asking the workload service again: the bound on how late a membership change takes effect.
     */
    AUTH_CACHE_MS: z.coerce.number().int().min(0).max(2000).default(1000),
    /** How long a workload's roles are reused by the policy check: the bound on how late a share change reaches this gateway. */
    ACCESS_CACHE_MS: z.coerce.number().int().min(0).max(2000).default(1000),
    /** Data plane: largest request body forwarded to a replica, counted while streaming (413 beyond). */
    DATA_PLANE_BODY_LIMIT_BYTES: z.coerce.number().int().min(1).default(64 * 1024 * 1024),
    /** Data plane: a replica silent for this long (no response, no bytes) fails the request with 504. */
    DATA_PLANE_UPSTREAM_TIMEOUT_MS: z.coerce.number().int().min(100).max(3_600_000).default(120_000),
    /** Data plane: how long a workload's ready replicas are reused before asking the workload service again. */
    DATA_PLANE_ROUTE_CACHE_MS: z.coerce.number().int().min(0).max(60_000).default(1000),
    /** Request records held in memory while the bus is slow or down; beyond it new records are dropped and counted. */
    REQUEST_RECORDS_BUFFER: z.coerce.number().int().min(1).default(50_000),
    /** Request records per publish; a full batch is published at once, a partial one every REQUEST_RECORDS_FLUSH_MS. */
    REQUEST_RECORDS_BATCH: z.coerce.number().int().min(1).max(10_000).default(500),
    REQUEST_RECORDS_FLUSH_MS: z.coerce.number().int().min(10).max(60_000).default(500),
  })
  .transform((c) => ({ ...c, PUBLIC_BASE_URL: (c.PUBLIC_BASE_URL ?? `http://127.0.0.1:${c.PORT}`).replace(/\/+$/, '') }));

export type GatewayConfig = z.output<typeof Schema>;

export function loadConfig(env: Record<string, string | undefined> = process.env): GatewayConfig {
  return parseConfig(Schema, env);
}

export const CONFIG = Symbol('GATEWAY_CONFIG');
