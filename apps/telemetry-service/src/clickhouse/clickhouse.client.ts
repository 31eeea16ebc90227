import { createClient, type ClickHouseClient } from '@clickhouse/client';
import type { TelemetryConfig } from '../config';

/**
 * The ClickHouse seam: a server over HTTP when CLICKHOUSE_URL is set, else chDB embedded in
 * this process behind the same client, so every query and insert is the same code and SQL.
 */
export const CLICKHOUSE = Symbol('CLICKHOUSE');

type ChdbConnectionOption = NonNullable<Parameters<typeof createClient>[0]>['connection'];

export function createClickHouseClient(config: TelemetryConfig['clickhouse']): ClickHouseClient {
  if (config.url) {
    return createClient({
      url: config.url,
      username: config.username,
      password: config.password,
      // Acknowledged means written: the consumer commits offsets only after the insert returns.
      clickhouse_settings: { async_insert: 0, date_time_input_format: 'basic' },
    });
  }
  return createClient({
    // chdb types against its own copy of @clickhouse/client-common; the shapes are the same.
    connection: loadChdb().createChdbConnection({ path: config.chdbPath }) as unknown as ChdbConnectionOption,
    // Sent as a `SET` prefix on every query (chDB adapter); the engine shares the process's cores.
    clickhouse_settings: { max_threads: 2 },
  });
}

/**
 * chDB is required here, not imported at the top: importing `chdb/connection` loads the ~540 MB
 * native engine, which a service talking to a ClickHouse server never uses. chdb is an optional
 * dependency (the service image omits it), so a missing package is an operator-readable error.
 */
function loadChdb(): typeof import('chdb/connection') {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require('chdb/connection') as typeof import('chdb/connection');
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND' && (error as Error).message.includes("'chdb/connection'");
    if (!missing) throw error;
    throw new Error('embedded ClickHouse needs the optional package chdb (omitted from this install): set CLICKHOUSE_URL to a ClickHouse server, or run npm install without --omit=optional');
  }
}
