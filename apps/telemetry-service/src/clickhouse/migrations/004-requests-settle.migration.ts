import type { Migration } from './migration';

/**
 * Makes FINAL (the read-time dedup of `requests`) cost nothing on settled data: once every part
 * of a partition is older than 60 s, ClickHouse merges the partition into one part, and FINAL
 * reads a lone merged part as is (no merge step). A partition still taking inserts (the current
 * month) keeps several parts; FINAL then merges only the key ranges where parts overlap, which
 * for live traffic (records arrive roughly in start order) is the last few seconds. A late or
 * redelivered record into a quiet partition adds a part, so that partition is merged again
 * 60 s later. Settings only: existing data stays as it is and settles at the next merge.
 */
export const requestsSettleMigration: Migration = {
  id: '004-requests-settle',
  statements: (db) => [
    `ALTER TABLE ${db}.requests MODIFY SETTING min_age_to_force_merge_seconds = 60, min_age_to_force_merge_on_partition_only = 1`,
  ],
};
