import type { Migration } from './migration';

/**
 * One row per request record. ReplacingMergeTree keyed by (workload_id, started_at, id): a
 * redelivered record has the same key, so duplicates collapse at merge time and every read uses
 * FINAL. `version` keeps the copy that arrived FIRST (largest version = earliest arrival), so a
 * redelivery after a stats reset cannot resurrect a record the reset excluded.
 */
export const requestsMigration: Migration = {
  id: '001-requests',
  statements: (db) => [
    `CREATE TABLE IF NOT EXISTS ${db}.requests
    (
      id String,
      workload_id LowCardinality(String),
      proton_id LowCardinality(String),
      replica LowCardinality(String),
      method LowCardinality(String),
      path String,
      status UInt16,
      started_at DateTime64(3, 'UTC') COMMENT 'when the gateway received the request',
      duration_ms Float64 COMMENT 'receipt to end of response, ms',
      bytes_in UInt64,
      bytes_out UInt64,
      arrived_at DateTime64(3, 'UTC') COMMENT 'ingestion time: when the telemetry consumer accepted the record',
      version UInt64 MATERIALIZED toUInt64(99999999999999) - toUInt64(toUnixTimestamp64Milli(arrived_at))
    )
    ENGINE = ReplacingMergeTree(version)
    PARTITION BY toYYYYMM(started_at)
    ORDER BY (workload_id, started_at, id)`,
  ],
};
