import { z } from 'zod';
import { Id, LOG_LEVELS } from '@wcp/contracts';

/** RFC 3339 with `Z` or an offset, any sub-second precision; parsed to epoch ms. */
const Time = z.iso.datetime({ offset: true }).transform((s) => Date.parse(s));

/**
 * POST /internal/logs/search. The gateway has already checked the workload and the caller's
 * permission, and normalized `level` (`warn` → `warning`, case) to LOG_LEVELS.
 */
export const LogSearchBody = z.strictObject({
  workloadId: Id,
  offset: z.int().min(0).max(Number.MAX_SAFE_INTEGER).default(0),
  limit: z.int().min(1).max(1000).default(100),
  /** Minimum level: `warning` selects warning, error and critical. null = every level. */
  level: z.enum(LOG_LEVELS).nullable().default(null),
  /** Inclusive. */
  startTime: Time.nullable().default(null),
  /** Exclusive. */
  endTime: Time.nullable().default(null),
  protonId: z.string().min(1).max(64).nullable().default(null),
});
export type LogSearchBody = z.output<typeof LogSearchBody>;
