import { Inject, Injectable, Logger } from '@nestjs/common';
import type { WorkloadDto } from '@wcp/contracts';
import { InternalClient, TELEMETRY_SERVICE } from '../http/internal.client';

/** `serviceStats=true`: one call to the telemetry service for the whole page. */
@Injectable()
export class StatsEnricher {
  private readonly logger = new Logger('StatsEnricher');

  constructor(@Inject(TELEMETRY_SERVICE) private readonly telemetry: InternalClient) {}

  async attach(workloads: WorkloadDto[]): Promise<void> {
    if (workloads.length === 0) return;
    const stats = await this.telemetry.post<Record<string, unknown>>('/internal/stats/request-stats', { workloadIds: workloads.map((w) => w.id) }, null);
    for (const w of workloads) {
      w.requestStats = stats[w.id] ?? { totalRequests: 0, errorRate: 0, responseTime: null, concurrentRequests: 0, lastRequestAt: null };
    }
    this.logger.debug(`attached stats to ${workloads.length} workloads`);
  }
}
