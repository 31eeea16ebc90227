import { createClient, type ClickHouseClient } from '@clickhouse/client';
import { createChdbConnection } from 'chdb/connection';
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
    connection: createChdbConnection({ path: config.chdbPath }) as unknown as ChdbConnectionOption,
    // Sent as a `SET` prefix on every query (chDB adapter); the engine shares the process's cores.
    clickhouse_settings: { max_threads: 2 },
  });
}
