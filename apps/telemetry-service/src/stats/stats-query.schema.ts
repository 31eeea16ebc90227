import { z } from 'zod';
import { ID_PATTERN } from '@wcp/contracts';
import { RESOLUTIONS } from './stats-window';

/** RFC 3339 with `Z` or an offset, any sub-second precision; parsed to epoch ms. */
const Time = z.iso.datetime({ offset: true }).transform((s) => Date.parse(s));
/** Query strings carry numbers as text; an empty value is not 0. */
const NumberText = z.union([z.number(), z.string().regex(/^\s*-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$/, 'must be a number').transform(Number)]);
const Quantile = NumberText.pipe(z.number().min(0).max(1));
const WorkloadId = z.string().regex(ID_PATTERN, 'must be 24 lowercase hex characters');

/** GET /internal/workloads/:workloadId/stats */
export const StatsQuery = z.strictObject({
  protonId: z.string().min(1).max(64).optional(),
  startTime: Time.optional(),
  endTime: Time.optional(),
  responseTimeQuantile: Quantile.default(0.5),
  slowRequestsThreshold: NumberText.pipe(z.number().min(0).max(1e12)).default(2000),
});
export type StatsQuery = z.output<typeof StatsQuery>;

/** GET /internal/workloads/:workloadId/stats/:metricName */
export const SeriesQuery = StatsQuery.extend({ resolution: z.enum(RESOLUTIONS).default('P1D') });
export type SeriesQuery = z.output<typeof SeriesQuery>;

/** POST /internal/workloads/:workloadId/stats/reset */
export const ResetBody = z.strictObject({
  protonId: z.string().min(1).max(64).optional(),
  startTime: Time.optional(),
  endTime: Time.optional(),
  /** When the reset was decided (the gateway's clock); compared with records' ingestion time. */
  resetAt: Time,
});
export type ResetBody = z.output<typeof ResetBody>;

/** POST /internal/stats/summary */
export const SummaryBody = z.strictObject({
  workloadIds: z.array(WorkloadId).max(100_000),
  activeWorkloadIds: z.array(WorkloadId).max(100_000),
  startTime: Time.optional(),
  endTime: Time.optional(),
  responseTimeQuantile: Quantile.default(0.5),
});
export type SummaryBody = z.output<typeof SummaryBody>;

/** POST /internal/stats/request-stats */
export const RequestStatsBody = z.strictObject({ workloadIds: z.array(WorkloadId).max(100_000) });
export type RequestStatsBody = z.output<typeof RequestStatsBody>;

export const WorkloadIdParam = WorkloadId;
