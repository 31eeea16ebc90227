import { BoundedLabel, counter, histogram } from '@wcp/metrics';

const requests = counter('wcp_data_plane_requests_total', 'Data-plane requests by workload (bounded: see METRICS_WORKLOAD_LABELS) and status class (2xx…5xx; 499 = caller left).', ['workload', 'status']);
const upstream = histogram('wcp_data_plane_upstream_duration_seconds', 'Data plane: receipt of a request to the replica\'s response headers, by workload (bounded).', ['workload']);

const STATUS_CLASS = ['0xx', '1xx', '2xx', '3xx', '4xx', '5xx'];

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
}
