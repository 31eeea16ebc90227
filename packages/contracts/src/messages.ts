import { z } from 'zod';
import { Id, IsoTime } from './ids';
import { WORKLOAD_EVENT_TYPES } from './workload';

/**
 * Integration event on `workload.events.v1`, keyed by workloadId. Distinct from the stored
 * domain events: it speaks the API's vocabulary (`eventType`) and is versioned on its own.
 * Delivery is at least once; consumers dedupe by `eventId`.
 */
export const WorkloadIntegrationEvent = z.object({
  type: z.literal('workload.event'),
  schemaVersion: z.literal(1),
  eventId: z.string(),
  workloadId: Id,
  /** Version of the workload stream after this event: orders events of one workload. */
  streamVersion: z.int().min(1),
  timestamp: IsoTime,
  eventType: z.enum(WORKLOAD_EVENT_TYPES),
  actorId: z.string().nullable(),
  details: z.record(z.string(), z.unknown()),
});
export type WorkloadIntegrationEvent = z.infer<typeof WorkloadIntegrationEvent>;

/**
 * One request forwarded by the data plane, on `workload.requests.v1` keyed by workloadId.
 * `id` is unique per request so ingestion can deduplicate redeliveries.
 */
export const RequestRecord = z.object({
  type: z.literal('request.record'),
  schemaVersion: z.literal(1),
  id: z.string().min(1).max(64),
  workloadId: Id,
  protonId: z.string().max(64),
  replica: z.string().max(128),
  method: z.string().min(1).max(16),
  path: z.string().max(2048),
  status: z.int().min(0).max(999),
  /** When the gateway received the request. */
  startedAt: IsoTime,
  /** Milliseconds from receipt to the end of the response. */
  durationMs: z.number().min(0),
  bytesIn: z.int().min(0),
  bytesOut: z.int().min(0),
});
export type RequestRecord = z.infer<typeof RequestRecord>;

export const LOG_LEVELS = ['debug', 'info', 'warning', 'error', 'critical'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Longest message kept of one log line (UTF-16 code units); longer lines are cut and marked `truncated`. */
export const MAX_LOG_LINE_CHARS = 8192;

/**
 * Lines of one replica's stdout/stderr, on `workload.logs.v1` keyed by workloadId. One message
 * carries many lines (bounded in count and bytes by the shipper) so a chatty replica costs
 * few messages. Each line's `id` is stable across redeliveries and re-reads after a restart
 * (`<replica instance>:<stream>:<file generation>:<byte offset>`), so ingestion deduplicates.
 */
export const LogBatch = z.object({
  type: z.literal('log.batch'),
  schemaVersion: z.literal(1),
  workloadId: Id,
  protonId: z.string().max(64),
  replica: z.string().max(128),
  container: z.string().max(63),
  lines: z
    .array(
      z.object({
        id: z.string().min(1).max(256),
        /** When the runtime read the line (ms precision). */
        timestamp: IsoTime,
        stream: z.enum(['stdout', 'stderr']),
        level: z.enum(LOG_LEVELS),
        message: z.string().max(MAX_LOG_LINE_CHARS + 64),
        truncated: z.boolean(),
      }),
    )
    .min(1)
    .max(5000),
});
export type LogBatch = z.infer<typeof LogBatch>;
export type LogLine = LogBatch['lines'][number];

/** One entry of `GET /otel/workload/{id}/logs` (spec §3). */
export interface LogEntryDto {
  timestamp: string;
  level: LogLevel;
  message: string;
  replica: string;
  protonId: string;
}

/**
 * What one gateway's data plane saw of one proton's load over one sampling window, on
 * `workload.concurrency.v1` keyed by workloadId: the input of the `httpRequestsConcurrency`
 * autoscaling policy (Knative's KPA reads the same from its queue-proxies). Samples are
 * gauges, not counters: a lost or duplicated one skews one window of one gateway, so the
 * topic is at most once and consumers keep the newest sample per (gateway, proton).
 *
 * `held` counts requests the data plane is holding because the proton is scaled to zero (or
 * on its way up from zero); a gateway publishes a sample at once when it starts holding
 * requests for a proton, not at the end of its window, so a cold start begins immediately.
 */
export const ConcurrencySample = z.object({
  type: z.literal('concurrency.sample'),
  schemaVersion: z.literal(1),
  /** The publishing gateway instance (one process = one id). */
  gatewayId: z.string().min(1).max(128),
  workloadId: Id,
  protonId: z.string().min(1).max(64),
  /** End of the window this sample covers. */
  at: IsoTime,
  windowMs: z.int().min(1),
  /** Time-weighted mean of in-flight requests (forwarded and held) over the window. */
  averageInFlight: z.number().min(0),
  /** Highest in-flight count seen in the window. */
  maxInFlight: z.int().min(0),
  /** Requests held, waiting for a ready replica, at `at`. */
  held: z.int().min(0),
});
export type ConcurrencySample = z.infer<typeof ConcurrencySample>;
