import { Topics } from '@wcp/contracts';
import type { MessageBus } from '@wcp/messaging';
import type { BatchedWriter } from '../clickhouse/batched.writer';
import { TableConsumer, type TableConsumerOptions } from '../clickhouse/table.consumer';
import { parseLogBatch, type LogRow } from './log-row';

export type LogBatchConsumerOptions = TableConsumerOptions;

/**
 * Replica log batches (many lines each) from `Topics.logs` into the logs table (steps:
 * `TableConsumer`); reads deduplicate lines by id, so a redelivered batch never shows twice.
 */
export class LogBatchConsumer extends TableConsumer<LogRow> {
  constructor(bus: MessageBus, writer: BatchedWriter<LogRow>, options: LogBatchConsumerOptions) {
    super(bus, writer, { topic: Topics.logs, deadLetterTopic: Topics.logsDeadLetter }, options);
  }

  protected parse(value: unknown, _batchStartedAt: number, rows: LogRow[]): string | undefined {
    const parsed = parseLogBatch(value);
    if (!parsed.ok) return parsed.reason;
    for (const row of parsed.rows) rows.push(row);
    return undefined;
  }
}
