import { Topics } from '@wcp/contracts';
import type { BusMessage, HandlerOutcome, MessageBus, Subscription } from '@wcp/messaging';
import type { BatchedWriter, WriterFeeder } from '../clickhouse/batched.writer';
import { parseRequestRecord, type RequestRow } from './request-row';

export interface RequestRecordConsumerOptions {
  groupId: string;
  /** Ingestion clock (epoch ms): stamps `arrived_at`, which stats resets compare with. */
  now: () => number;
  log?: (level: 'warn' | 'error', message: string) => void;
}

/**
 * Consumes request records from `Topics.requests` into the batched writer.
 *
 * Per batch: (1) validate every message; an unreadable one is dead-lettered with its reason and
 * never blocks the rest; (2) hand the valid rows to the writer and wait until they are written;
 * (3) only then answer `ok`, so the bus commits offsets of durable records only. A failed write
 * answers `retry` for those messages: the bus redelivers them, and the table's dedup key makes
 * the rows already written by a partial flush harmless.
 */
export class RequestRecordConsumer {
  private subscription: Subscription | null = null;
  private feeder: WriterFeeder<RequestRow> | null = null;

  constructor(
    private readonly bus: MessageBus,
    private readonly writer: BatchedWriter<RequestRow>,
    private readonly options: RequestRecordConsumerOptions,
  ) {}

  async start(): Promise<void> {
    if (this.subscription) return;
    this.feeder = this.writer.feeder();
    this.subscription = await this.bus.subscribe({
      topic: Topics.requests,
      groupId: this.options.groupId,
      // A first deployment must not lose what the data plane published before it.
      fromBeginning: true,
      deadLetterTopic: Topics.requestsDeadLetter,
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
    const arrivedAt = this.options.now();
    const outcomes: HandlerOutcome[] = [];
    const rows: RequestRow[] = [];
    for (const message of messages) {
      const parsed = parseRequestRecord(message.value, arrivedAt);
      if (parsed.ok) {
        rows.push(parsed.row);
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
