import { LoggingEnvironment } from '@wcp/logging';
import { Port, parseConfig } from '@wcp/nest-common';
import { TracingEnvironment } from '@wcp/tracing';
import { z } from 'zod';

/**
 * The launcher's own variables; docs/deploy.md is generated from this schema with the three
 * apps' (`npm run docs:deploy`), and a unit test fails when it drifts.
 */
export const EmbeddedEnvironment = z.object({
  PORT: Port.default(8080).describe('Port of the API (the gateway).'),
  HOST: z.string().default('127.0.0.1').describe('Address the API listens on. The services inside always listen on loopback, on ephemeral ports.'),
  DATA_DIR: z.string().default('./.data').describe('Everything this system stores: SQLite event store and read models, chDB data, replica state and logs. Two systems side by side need two.'),
  BOOTSTRAP_API_TOKEN: z.string().optional().describe('When set, user `admin` holds this API token (16+ characters).'),
  // One process, one logger and one tracer provider: the launcher's values apply to the three apps.
  ...LoggingEnvironment.shape,
  ...TracingEnvironment.shape,
});

/** Set by the launcher for the apps inside, whatever the environment says: they make it one process. */
export const PINNED_BY_EMBEDDED = ['HOST (services)', 'INTERNAL_PORT', 'KAFKA_BROKERS', 'MONGODB_URI'];

/**
 * Embedded mode reads the same variables as the three apps (see each app's config.ts); this
 * launcher only pins what makes them one process: an in-process bus, ephemeral internal ports,
 * one DATA_DIR.
 */
export function loadEnvironment(env: Record<string, string | undefined> = process.env) {
  const own = parseConfig(EmbeddedEnvironment, env);
  const shared = { ...env, HOST: '127.0.0.1', DATA_DIR: own.DATA_DIR, KAFKA_BROKERS: undefined, MONGODB_URI: undefined };
  return {
    own,
    workloadService: { ...shared, INTERNAL_PORT: '0' },
    telemetryService: { ...shared, INTERNAL_PORT: '0', CLICKHOUSE_URL: env.CLICKHOUSE_URL },
    gateway: { ...env, PORT: String(own.PORT), HOST: own.HOST, KAFKA_BROKERS: undefined },
  };
}
