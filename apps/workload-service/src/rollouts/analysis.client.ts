import type { AnalysisSample } from './domain/replacement.events';

interface StatsAnswer {
  metrics: { totalRequests: number; serverErrorRate: number; responseTime: number | null };
}

/**
 * The saga's question to the telemetry service: how did each proton answer over a window
 * (spec §4 statistics, p99)? A window that ends now may miss the last second of records still
 * in flight; the next sample sees them.
 */
export class AnalysisClient {
  constructor(private readonly baseUrl: () => string, private readonly timeoutMs = 5000) {}

  async sample(workloadId: string, candidateProtonId: string, activeProtonId: string | null, window: { start: string; end: string }): Promise<AnalysisSample> {
    const [candidate, active] = await Promise.all([
      this.proton(workloadId, candidateProtonId, window),
      activeProtonId ? this.proton(workloadId, activeProtonId, window) : Promise.resolve({ requests: 0, errorRate: 0, p99Ms: null }),
    ]);
    return { window, candidate, active };
  }

  private async proton(workloadId: string, protonId: string, window: { start: string; end: string }): Promise<AnalysisSample['candidate']> {
    const query = new URLSearchParams({ protonId, startTime: window.start, endTime: window.end, responseTimeQuantile: '0.99' });
    const response = await fetch(`${this.baseUrl()}/internal/workloads/${workloadId}/stats?${query}`, { signal: AbortSignal.timeout(this.timeoutMs) });
    if (!response.ok) throw new Error(`telemetry service answered ${response.status} for the statistics of proton ${protonId}`);
    const { metrics } = (await response.json()) as StatsAnswer;
    return { requests: metrics.totalRequests, errorRate: metrics.serverErrorRate, p99Ms: metrics.totalRequests > 0 ? metrics.responseTime : null };
  }
}

export const ANALYSIS_CLIENT = Symbol('ANALYSIS_CLIENT');
