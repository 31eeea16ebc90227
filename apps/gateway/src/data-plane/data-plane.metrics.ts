import { BoundedLabel, counter, histogram, sampled } from '@wcp/metrics';

const requests = counter('wcp_data_plane_requests_total', 'Data-plane requests by workload (bounded: see METRICS_WORKLOAD_LABELS) and status class (2xx…5xx; 499 = caller left).', ['workload', 'status']);
const upstream = histogram('wcp_data_plane_upstream_duration_seconds', 'Data plane: receipt of a request to the replica\'s response headers, by workload (bounded).', ['workload']);
const holdOutcomes = counter(
  'wcp_data_plane_hold_outcomes_total',
  'Data plane: requests held while a workload scaled up from zero, by how the hold ended (forwarded, timeout, overflow, refused, disconnected, shutdown) and workload (bounded).',
  ['workload', 'outcome'],
);

const STATUS_CLASS = ['0xx', '1xx', '2xx', '3xx', '4xx', '5xx'];

/**
 * How a held request left the hold: forwarded to a replica that became ready; answered 503 after
 * DATA_PLANE_HOLD_TIMEOUT_MS; refused 503 at once because a bound was reached (overflow); answered
 * with the control plane's refusal (stopped: 503, deleted: 404); its caller left; the gateway stopped.
 */
export type HoldOutcome = 'forwarded' | 'timeout' | 'overflow' | 'refused' | 'disconnected' | 'shutdown';

/**
 * The data plane's series. The workload id is a label, as operators ask for it, but capped: the
 * first `limit` workloads seen keep their own series, later ones share `workload="other"`.
 */
export class DataPlaneMetrics {
  private readonly workloads: BoundedLabel;

  constructor(limit: number) {
    this.workloads = new BoundedLabel(limit);
  }

  answered(workloadId: string, seconds: number): void {
    upstream.observe({ workload: this.workloads.value(workloadId) }, seconds);
  }

  finished(workloadId: string, status: number): void {
    requests.inc({ workload: this.workloads.value(workloadId), status: STATUS_CLASS[Math.floor(status / 100)] ?? 'other' });
  }

  holdEnded(workloadId: string, outcome: HoldOutcome, n = 1): void {
    if (n > 0) holdOutcomes.inc({ workload: this.workloads.value(workloadId), outcome }, n);
  }

  /** `wcp_data_plane_held_requests`, read at scrape time from `held` (workload id → requests held now). Returns the remover. */
  watchHeld(held: () => Iterable<[string, number]>): () => void {
    return sampled('gauge', 'wcp_data_plane_held_requests', 'Data plane: requests held now, waiting for a workload scaled to zero to get a ready replica, by workload (bounded).', ['workload'], (add) => {
      for (const [workloadId, n] of held()) add({ workload: this.workloads.value(workloadId) }, n);
    });
  }
}
