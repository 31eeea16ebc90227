import type { Migration } from './migration';

/**
 * Stats resets. A reset excludes, from every statistic, the records of its workload (and proton
 * when not empty, and started in [window_start, window_end) when bounded) whose arrived_at is
 * at or before reset_at. Records are never deleted: analysts still see them.
 */
export const statsResetsMigration: Migration = {
  id: '002-stats-resets',
  statements: (db) => [
    `CREATE TABLE IF NOT EXISTS ${db}.stats_resets
    (
      workload_id String,
      proton_id String COMMENT 'empty = every proton',
      window_start Nullable(DateTime64(3, 'UTC')) COMMENT 'null = unbounded',
      window_end Nullable(DateTime64(3, 'UTC')) COMMENT 'null = unbounded; exclusive',
      reset_at DateTime64(3, 'UTC')
    )
    ENGINE = ReplacingMergeTree
    ORDER BY (workload_id, proton_id, reset_at)
    SETTINGS allow_nullable_key = 1`,
  ],
};
