import type { Migration } from './migration';

/**
 * Replica log lines. Sorted by (workload_id, timestamp, seq, id) so one workload's newest lines
 * are read in reverse key order and a page stops early. `seq` is the byte offset at the end of
 * the line id (`<instance>:<stream>:<generation>:<byteOffset>`; 0 when the id has no numeric
 * tail): it orders lines read in the same millisecond in file order.
 *
 * ReplacingMergeTree collapses exact redeliveries (same key) at merge time to bound storage;
 * reads deduplicate by `id` themselves (`LIMIT 1 BY id`), which also covers a line re-read
 * with another timestamp (docs/clickhouse.md, "Logs").
 *
 * `level` is an Enum8 ordered by severity, so a minimum level is `level >= {min_level}`. Daily
 * partitions with `ttl_only_drop_parts` let the TTL drop whole parts instead of rewriting them.
 * The TTL here is the default (7 days); boot sets LOGS_TTL_DAYS (see logs.retention.ts).
 */
export const logsMigration: Migration = {
  id: '003-logs',
  statements: (db) => [
    `CREATE TABLE IF NOT EXISTS ${db}.logs
    (
      workload_id LowCardinality(String),
      proton_id LowCardinality(String),
      replica LowCardinality(String),
      container LowCardinality(String),
      id String COMMENT 'stable across redeliveries: <instance>:<stream>:<generation>:<byteOffset>',
      seq UInt64 COMMENT 'byte offset of the line in its file (tail of id); same-millisecond tiebreak',
      timestamp DateTime64(3, 'UTC') COMMENT 'when the runtime read the line',
      stream Enum8('stdout' = 1, 'stderr' = 2),
      level Enum8('debug' = 1, 'info' = 2, 'warning' = 3, 'error' = 4, 'critical' = 5),
      message String CODEC(ZSTD(1)),
      truncated Bool COMMENT 'message was cut at MAX_LOG_LINE_CHARS by the shipper',
      INDEX level_minmax level TYPE minmax GRANULARITY 1,
      INDEX proton_set proton_id TYPE set(32) GRANULARITY 1
    )
    ENGINE = ReplacingMergeTree
    PARTITION BY toDate(timestamp)
    ORDER BY (workload_id, timestamp, seq, id)
    TTL toDateTime(timestamp) + toIntervalDay(7)
    SETTINGS ttl_only_drop_parts = 1`,
  ],
};
