import type { BusMessage, MessageBus, OutgoingMessage, SubscribeOptions, Subscription } from './message-bus';
import { AsyncResource } from 'node:async_hooks';
import { runWithRetry } from './retry';
import { publishTraced } from './trace-context';

/** Messages kept for a topic no group reads yet, so a consumer that starts later still sees them. */
const DEFAULT_UNREAD_RETENTION = 10_000;

interface TopicLog {
  /** Offset of `items[0]`: consumed messages are dropped from the front. */
  base: number;
  items: BusMessage[];
}

interface Group {
  offset: number;
  handlers: SubscribeOptions[];
  running: boolean;
  stopped: boolean;
}

/**
 * Embedded-mode bus: one process, topics are in-memory logs, each consumer group reads in
 * order. Same outcome semantics as Kafka (retry holds the position, dead-letter republishes),
 * so business code behaves identically. Messages do not survive a restart: in embedded mode
 * the durable state is the event store, and its outbox republishes what was not yet published.
 */
export class InProcessBus implements MessageBus {
  private readonly logs = new Map<string, TopicLog>();
  private readonly groups = new Map<string, Group>();
  private closed = false;

  /**
   * Where consumers run: the async context the bus was made in (start-up), not that of the
   * publish that woke a group, so one HTTP request's log ids and active span do not leak into
   * every message drained after it. A consumer gets a message's context from its headers only,
   * as over Kafka.
   */
  private readonly scope = new AsyncResource('InProcessBus');

  /**
   * `maxBatch`: most messages handed to one batch handler call (ClickHouse likes big inserts).
   * `unreadRetention`: how many messages a topic keeps while no group reads it (default 10 000);
   * a backlog published before its consumer starts (a benchmark) needs all of it kept.
   */
  constructor(private readonly options: { maxBatch?: number; unreadRetention?: number } = {}) {}

  publish(topic: string, messages: OutgoingMessage[]): Promise<void> {
    // Through the same trace-context injection as Kafka: a consumer here extracts it from the headers too.
    return publishTraced('in-process', topic, messages, async (traced) => this.append(topic, traced));
  }

  private append(topic: string, messages: OutgoingMessage[]): void {
    if (this.closed) throw new Error('bus is closed');
    const log = this.log(topic);
    for (const m of messages) {
      const offset = log.base + log.items.length;
      // A JSON round trip keeps the semantics of a wire: no shared mutable objects.
      log.items.push({
        topic,
        key: m.key,
        value: JSON.parse(JSON.stringify(m.value)),
        headers: { ...(m.headers ?? {}) },
        partition: 0,
        offset: String(offset),
        timestamp: Date.now(),
      });
    }
    this.trim(topic);
    for (const [id, group] of this.groups) if (id.startsWith(`${topic}\u0000`)) this.drain(id, group);
  }

  async subscribe(options: SubscribeOptions): Promise<Subscription> {
    const id = `${options.topic}\u0000${options.groupId}`;
    let group = this.groups.get(id);
    if (!group) {
      const log = this.log(options.topic);
      group = { offset: options.fromBeginning ? log.base : log.base + log.items.length, handlers: [], running: false, stopped: false };
      this.groups.set(id, group);
    }
    group.handlers.push(options);
    // One member: it owns the one partition.
    options.onAssignment?.({ partitions: [0], partitionCount: 1 });
    this.drain(id, group);
    const g = group;
    return {
      stop: async () => {
        g.handlers = g.handlers.filter((h) => h !== options);
        options.onAssignment?.({ partitions: [], partitionCount: 1 });
        if (g.handlers.length === 0) g.stopped = true;
        while (g.running) await new Promise((r) => setTimeout(r, 5));
        if (g.handlers.length === 0) this.groups.delete(id);
      },
    };
  }

  async ping(): Promise<boolean> {
    return !this.closed;
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.groups.values()].map(async (g) => {
      g.stopped = true;
      while (g.running) await new Promise((r) => setTimeout(r, 5));
    }));
    this.groups.clear();
  }

  private log(topic: string): TopicLog {
    let log = this.logs.get(topic);
    if (!log) {
      log = { base: 0, items: [] };
      this.logs.set(topic, log);
    }
    return log;
  }

  /** Drops what every group has read; with no group yet, keeps the newest `unreadRetention`. */
  private trim(topic: string): void {
    const log = this.log(topic);
    const offsets = [...this.groups.entries()].filter(([id]) => id.startsWith(`${topic}\u0000`)).map(([, g]) => g.offset);
    const end = log.base + log.items.length;
    const keepFrom = offsets.length > 0 ? Math.min(...offsets) : Math.max(log.base, end - (this.options.unreadRetention ?? DEFAULT_UNREAD_RETENTION));
    if (keepFrom - log.base > 1000 || (keepFrom === end && log.items.length > 0)) {
      log.items = log.items.slice(keepFrom - log.base);
      log.base = keepFrom;
    }
  }

  private drain(id: string, group: Group): void {
    if (group.running || group.stopped || group.handlers.length === 0) return;
    group.running = true;
    // runInAsyncScope, not scope.bind: bind makes a new bound function (through a deprecation shim) every time.
    setImmediate(() => this.scope.runInAsyncScope(() => void this.drainNow(id, group)));
  }

  private async drainNow(id: string, group: Group): Promise<void> {
    try {
      const [topic] = id.split('\u0000');
      const log = this.log(topic);
      while (!group.stopped && group.offset < log.base + log.items.length && group.handlers.length > 0) {
        const handler = group.handlers[0];
        const start = group.offset - log.base;
        const batch = log.items.slice(start, start + (this.options.maxBatch ?? 5000));
        const outcomes = await runWithRetry(batch, handler.handleBatch, () => group.stopped || this.closed, () => undefined);
        for (let i = 0; i < outcomes.length; i++) {
          const outcome = outcomes[i];
          if (outcome.kind === 'dead-letter') {
            await this.publish(handler.deadLetterTopic ?? `${topic}.dlq`, [
              { key: batch[i].key, value: batch[i].value, headers: { ...batch[i].headers, 'x-dead-letter-reason': outcome.reason, 'x-original-topic': topic } },
            ]);
          }
        }
        group.offset += outcomes.length;
        this.trim(topic);
      }
    } finally {
      group.running = false;
    }
    const [topic] = id.split('\u0000');
    const log = this.log(topic);
    if (!group.stopped && group.offset < log.base + log.items.length) this.drain(id, group);
  }
}
