import { requestsMigration } from './001-requests.migration';
import { statsResetsMigration } from './002-stats-resets.migration';
import { logsMigration } from './003-logs.migration';
import { requestsSettleMigration } from './004-requests-settle.migration';
import type { Migration } from './migration';

/** In order. Append only; never edit a migration that has shipped. */
export const MIGRATIONS: readonly Migration[] = [requestsMigration, statsResetsMigration, logsMigration, requestsSettleMigration];
export type { Migration } from './migration';
