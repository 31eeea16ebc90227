import { ok, type BusMessage, type HandlerOutcome, type MessageBus, type Subscription } from '@wcp/messaging';
import type { BatchedWriter, WriterFeeder } from './batched.writer';

export interface TableConsumerOptions {
  groupId: string;
  /** Partitions handled at once (Kafka; default 1). */
  concurrency?: number;
  log?: (level: 'warn' | 'error', message: string) => void;
}

/**
 * Consumes one topic into one table's batched writer. Per bus batch: (1) parse every message;
 * an unreadable one is dead-lettered with its reason and never blocks the rest; (2) hand the
 * rows of the valid ones to the writer and wait until they are written; (3) only then answer
 * `ok`, so the bus commits offsets of durable rows only. A failed write answers `retry` for
 * those messages: the bus redelivers them, and each table's dedup makes rows a partial flush
 * already wrote harmless.
 */
export abstract class TableConsumer<Row> {
  private subscription: Subscription | null = null;
  private feeder: WriterFeeder<Row> | null = null;

  protected constructor(
    private readonly bus: MessageBus,
    private readonly writer: BatchedWriter<Row>,
    private readonly topics: { topic: string; deadLetterTopic: string },
    private readonly options: TableConsumerOptions,
  ) {}

  /**
   * Parses one message of a bus batch (in order; `batchStartedAt`: epoch ms, one clock reading
   * per batch): appends its rows to `rows`, or returns the reason it is dead-lettered and
   * appends nothing. Rows go straight into the batch's array, with no result object per message
   * (request records come by the hundred thousand, and their garbage is most of the ingest GC).
   */
  protected abstract parse(value: unknown, batchStartedAt: number, rows: Row[]): string | undefined;

  protected batchClock(): number {
    return Date.now();
  }

  async start(): Promise<void> {
    if (this.subscription) return;
    this.feeder = this.writer.feeder();
    this.subscription = await this.bus.subscribe({
      topic: this.topics.topic,
      groupId: this.options.groupId,
      // A first deployment must not lose what was published before it.
      fromBeginning: true,
      concurrency: this.options.concurrency,
      deadLetterTopic: this.topics.deadLetterTopic,
      handleBatch: (messages) => this.handleBatch(messages),
    });
  }

  /** Stops consuming; in-flight batches finish (and their rows are written) first. */
  async stop(): Promise<void> {
    const subscription = this.subscription;
    this.subscription = null;
    await subscription?.stop();
    this.feeder?.detach();
    this.feeder = null;
  }

  async handleBatch(messages: BusMessage[]): Promise<HandlerOutcome[]> {
    const startedAt = this.batchClock();
    const outcomes: HandlerOutcome[] = [];
    const rows: Row[] = [];
    for (const message of messages) {
      const refused = this.parse(message.value, startedAt, rows);
      if (refused === undefined) {
        outcomes.push(ok);
      } else {
        this.options.log?.('warn', `dead-lettering ${message.topic}@${message.partition}:${message.offset}: ${refused}`);
        outcomes.push({ kind: 'dead-letter', reason: refused });
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
