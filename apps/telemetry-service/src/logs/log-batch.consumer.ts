import { Topics } from '@wcp/contracts';
import type { BusMessage, HandlerOutcome, MessageBus, Subscription } from '@wcp/messaging';
import type { BatchedWriter, WriterFeeder } from '../clickhouse/batched.writer';
import { parseLogBatch, type LogRow } from './log-row';

export interface LogBatchConsumerOptions {
  groupId: string;
  log?: (level: 'warn' | 'error', message: string) => void;
}

/**
 * Consumes replica log batches from `Topics.logs` into the logs table's batched writer.
 *
 * Per bus batch: (1) validate every message (a LogBatch of many lines); an unreadable one is
 * dead-lettered to `Topics.logsDeadLetter` with its reason and never blocks the rest; (2) hand
 * the lines of the valid ones to the writer and wait until they are written; (3) only then
 * answer `ok`, so the bus commits offsets of durable lines only. A failed write answers `retry`
 * for those messages: the bus redelivers them, and reads deduplicate lines by id, so the rows a
 * partial flush already wrote never show twice.
 */
export class LogBatchConsumer {
  private subscription: Subscription | null = null;
  private feeder: WriterFeeder<LogRow> | null = null;

  constructor(
    private readonly bus: MessageBus,
    private readonly writer: BatchedWriter<LogRow>,
    private readonly options: LogBatchConsumerOptions,
  ) {}

  async start(): Promise<void> {
    if (this.subscription) return;
    this.feeder = this.writer.feeder();
    this.subscription = await this.bus.subscribe({
      topic: Topics.logs,
      groupId: this.options.groupId,
      // A first deployment must not lose what the runtime shipped before it.
      fromBeginning: true,
      deadLetterTopic: Topics.logsDeadLetter,
      handleBatch: (messages) => this.handleBatch(messages),
    });
  }

  /** Stops consuming; in-flight batches finish (and their lines are written) first. */
  async stop(): Promise<void> {
    const subscription = this.subscription;
    this.subscription = null;
    await subscription?.stop();
    this.feeder?.detach();
    this.feeder = null;
  }

  async handleBatch(messages: BusMessage[]): Promise<HandlerOutcome[]> {
    const outcomes: HandlerOutcome[] = [];
    const rows: LogRow[] = [];
    for (const message of messages) {
      const parsed = parseLogBatch(message.value);
      if (parsed.ok) {
        rows.push(...parsed.rows);
        outcomes.push({ kind: 'ok' });
      } else {
        this.options.log?.('warn', `dead-lettering ${message.topic}@${message.partition}:${message.offset}: ${parsed.reason}`);
        outcomes.push({ kind: 'dead-letter', reason: parsed.reason });
      }
    }
    try {
      await (this.feeder ?? this.writer).write(rows);
      return outcomes;
    } catch (error) {
      const reason = `clickhouse write failed: ${error instanceof Error ? error.message : String(error)}`;
      this.options.log?.('error', reason);
      return outcomes.map((o) => (o.kind === 'ok' ? { kind: 'retry', reason } : o));
    }
  }
}
