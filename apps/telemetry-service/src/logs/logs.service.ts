import { domainError, isDomainError, type DomainError, type LogEntryDto } from '@wcp/contracts';
import { parseInput } from '../http/parse-input';
import { LogSearchBody } from './log-search.schema';
import type { LogsRepository } from './logs.repository';

export interface LogPage {
  /** Distinct lines matching the filter, over every page. */
  totalCount: number;
  /** Newest first (see `pageQuery` for the tiebreak). */
  data: LogEntryDto[];
}

/** Replica log search, served to the gateway. Inputs arrive unparsed; refusals are DomainError values. */
export class LogsService {
  constructor(private readonly repository: LogsRepository) {}

  async search(rawBody: unknown): Promise<LogPage | DomainError> {
    const b = parseInput(LogSearchBody, rawBody, 'body');
    if (isDomainError(b)) return b;
    if (b.startTime !== null && b.endTime !== null && b.startTime > b.endTime) {
      return domainError('bad_request', 'INVALID_PERIOD', 'startTime must not be after endTime');
    }
    const { total, hits } = await this.repository.search(
      { workloadId: b.workloadId, protonId: b.protonId, minLevel: b.level, startMs: b.startTime, endMs: b.endTime },
      { offset: b.offset, limit: b.limit },
    );
    return {
      totalCount: total,
      data: hits.map((h) => ({ timestamp: new Date(h.timestampMs).toISOString(), level: h.level, message: h.message, replica: h.replica, protonId: h.protonId })),
    };
  }
}
