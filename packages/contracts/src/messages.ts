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
