import type { MessageBus, Subscription } from './message-bus';
import { processTraced } from './trace-context';

export interface RequestReplyOptions {
  requestTopic: string;
  replyTopic: string;
  /** Unique per process: every instance must see every reply, and keeps those it waits for. */
  replyGroupId: string;
}

export class ReplyTimeoutError extends Error {
  constructor(readonly correlationId: string, readonly timeoutMs: number) {
    super(`no reply for ${correlationId} within ${timeoutMs} ms`);
  }
}

/**
 * Request/reply over two topics: the request carries a `correlationId`, the replier publishes
 * a message with the same `correlationId`. A reply that arrives after the wait ended is
 * dropped; the request itself may still be applied, which is why commands are idempotent.
 */
export class RequestReplyClient {
  private readonly pending = new Map<string, (reply: unknown) => void>();
  private subscription: Subscription | null = null;

  constructor(private readonly bus: MessageBus, private readonly options: RequestReplyOptions) {}

  async start(): Promise<void> {
    this.subscription = await this.bus.subscribe({
      topic: this.options.replyTopic,
      groupId: this.options.replyGroupId,
      fromBeginning: false,
      handleBatch: async (messages) => {
        for (const m of messages) {
          const id = (m.value as { correlationId?: unknown } | null)?.correlationId;
          const waiting = typeof id === 'string' ? this.pending.get(id) : undefined;
          // Only a reply this process waits for joins the request's trace (every instance sees every reply).
          if (waiting) await processTraced(m, { 'messaging.message.conversation_id': id as string }, async () => waiting(m.value));
        }
        return messages.map(() => ({ kind: 'ok' as const }));
      },
    });
  }

  /** `headers` travel with the request (the log context's ids); the trace context is added by the bus. */
  async request<TReply>(key: string, correlationId: string, message: unknown, timeoutMs: number, headers?: Record<string, string>): Promise<TReply> {
    const reply = new Promise<TReply>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(correlationId);
        reject(new ReplyTimeoutError(correlationId, timeoutMs));
      }, timeoutMs);
      this.pending.set(correlationId, (value) => {
        clearTimeout(timer);
        this.pending.delete(correlationId);
        resolve(value as TReply);
      });
    });
    try {
      await this.bus.publish(this.options.requestTopic, [{ key, value: message, headers }]);
    } catch (error) {
      this.pending.get(correlationId)?.(undefined);
      throw error;
    }
    return reply;
  }

  get inFlight(): number {
    return this.pending.size;
  }

  async stop(): Promise<void> {
    await this.subscription?.stop();
    this.subscription = null;
  }
}
