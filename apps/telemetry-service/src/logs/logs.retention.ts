import type { ClickHouseClient } from '@clickhouse/client';

/** The TTL of `<db>.logs` for `days`, in the form ClickHouse prints it back in `engine_full`. */
export function logsTtlExpression(days: number): string {
  if (!Number.isInteger(days) || days < 1) throw new Error(`LOGS_TTL_DAYS must be a positive integer, got ${days}`);
  return `toDateTime(timestamp) + toIntervalDay(${days})`;
}

/** The TTL days currently set on the table, from `system.tables.engine_full`; null if none or not ours. */
export function ttlDaysOf(engineFull: string): number | null {
  const match = /\bTTL toDateTime\(timestamp\) \+ toIntervalDay\((\d+)\)/.exec(engineFull);
  return match ? Number(match[1]) : null;
}

/**
 * Makes the table's TTL `days` (LOGS_TTL_DAYS), at boot after the migrations. Only when it
 * differs: `MODIFY TTL` also re-evaluates the TTL of the parts already stored (a mutation, in
 * the background), so a shorter retention frees space without waiting for new inserts. Two
 * instances booting at once both issue the same ALTER, which is harmless. Returns whether it
 * altered the table.
 */
export async function applyLogsTtl(client: ClickHouseClient, db: string, days: number): Promise<boolean> {
  const expression = logsTtlExpression(days);
  const rs = await client.query({
    query: `SELECT engine_full FROM system.tables WHERE database = {db:String} AND name = 'logs'`,
    query_params: { db },
    format: 'JSONEachRow',
  });
  const [table] = await rs.json<{ engine_full: string }>();
  if (!table) throw new Error(`${db}.logs does not exist: run the migrations first`);
  if (ttlDaysOf(table.engine_full) === days) return false;
  // `days` is a validated integer (config), never user input: DDL takes no query parameters here.
  await client.command({ query: `ALTER TABLE ${db}.logs MODIFY TTL ${expression}` });
  return true;
}
