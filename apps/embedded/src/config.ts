import { Port, parseConfig } from '@wcp/nest-common';
import { z } from 'zod';

const Schema = z.object({
  PORT: Port.default(8080),
  HOST: z.string().default('127.0.0.1'),
  DATA_DIR: z.string().default('./.data'),
  BOOTSTRAP_API_TOKEN: z.string().optional(),
});

/**
 * Embedded mode reads the same variables as the three apps (see each app's config.ts); this
 * launcher only pins what makes them one process: an in-process bus, ephemeral internal ports,
 * one DATA_DIR.
 */
export function loadEnvironment(env: Record<string, string | undefined> = process.env) {
  const own = parseConfig(Schema, env);
  const shared = { ...env, HOST: '127.0.0.1', DATA_DIR: own.DATA_DIR, KAFKA_BROKERS: undefined, MONGODB_URI: undefined };
  return {
    own,
    workloadService: { ...shared, INTERNAL_PORT: '0' },
    telemetryService: { ...shared, INTERNAL_PORT: '0', CLICKHOUSE_URL: env.CLICKHOUSE_URL },
    gateway: { ...env, PORT: String(own.PORT), HOST: own.HOST, KAFKA_BROKERS: undefined },
  };
}
