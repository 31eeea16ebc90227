import { Topics } from '@wcp/contracts';
import type { MessageBus } from '@wcp/messaging';
import type { BatchedWriter } from '../clickhouse/batched.writer';
import { TableConsumer, type TableConsumerOptions } from '../clickhouse/table.consumer';
import { parseRequestRecord, type RequestRow } from './request-row';

export interface RequestRecordConsumerOptions extends TableConsumerOptions {
  /** Ingestion clock (epoch ms): stamps `arrived_at`, which stats resets compare with. */
  now: () => number;
}

/**
 * Request records from `Topics.requests` into the requests table (steps: `TableConsumer`);
 * the table's dedup key makes a redelivered record harmless.
 */
export class RequestRecordConsumer extends TableConsumer<RequestRow> {
  constructor(bus: MessageBus, writer: BatchedWriter<RequestRow>, private readonly requestOptions: RequestRecordConsumerOptions) {
    super(bus, writer, { topic: Topics.requests, deadLetterTopic: Topics.requestsDeadLetter }, requestOptions);
  }

  protected override batchClock(): number {
    return this.requestOptions.now();
  }

  protected parse(value: unknown, arrivedAt: number, rows: RequestRow[]): string | undefined {
    const parsed = parseRequestRecord(value, arrivedAt);
    if (!parsed.ok) return parsed.reason;
    rows.push(parsed.row);
    return undefined;
  }
}
