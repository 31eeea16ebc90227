import type { ClickHouseClient } from '@clickhouse/client';
import { MIGRATIONS, type Migration } from './migrations';

/**
 * Applies the numbered migrations not yet recorded in `<db>.schema_migrations`, in order, at
 * boot. Returns the ids it applied. Safe to run concurrently and repeatedly: every statement is
 * idempotent and the bookkeeping table collapses duplicate rows.
 */
export async function migrate(client: ClickHouseClient, db: string, migrations: readonly Migration[] = MIGRATIONS): Promise<string[]> {
  await client.command({ query: `CREATE DATABASE IF NOT EXISTS ${db}` });
  await client.command({
    query: `CREATE TABLE IF NOT EXISTS ${db}.schema_migrations (id String, applied_at DateTime64(3, 'UTC'))
      ENGINE = ReplacingMergeTree ORDER BY id`,
  });
  const rows = await (await client.query({ query: `SELECT DISTINCT id FROM ${db}.schema_migrations`, format: 'JSONEachRow' })).json<{ id: string }>();
  const done = new Set(rows.map((r) => r.id));
  const applied: string[] = [];
  for (const migration of migrations) {
    if (done.has(migration.id)) continue;
    for (const statement of migration.statements(db)) await client.command({ query: statement });
    await client.insert({
      table: `${db}.schema_migrations`,
      values: [{ id: migration.id, applied_at: formatDateTime64(Date.now()) }],
      format: 'JSONEachRow',
    });
    applied.push(migration.id);
  }
  return applied;
}

/** Epoch ms → `YYYY-MM-DD hh:mm:ss.sss`, the text form a `DateTime64(3, 'UTC')` column parses as UTC. */
export function formatDateTime64(ms: number): string {
  const iso = new Date(ms).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 23)}`;
}
