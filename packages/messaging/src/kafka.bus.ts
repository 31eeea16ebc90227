import { Admin, Consumer, IHeaders, Kafka, logLevel, Producer } from 'kafkajs';
import type { BusMessage, MessageBus, OutgoingMessage, SubscribeOptions, Subscription } from './message-bus';
import { GroupCommit } from './group-commit';
import { runWithRetry } from './retry';
import { ConsumerLag, partitionLags } from './consumer-lag';
import { publishTraced } from './trace-context';

export interface KafkaBusOptions {
  brokers: string[];
  clientId: string;
  /** Topics created at start if missing, with their partition counts. */
  topics?: Array<{ topic: string; partitions: number }>;
  /** Upper bound on how long a fetch waits for data; low values keep request/reply snappy. */
  maxWaitTimeMs?: number;
  log?: (level: 'error' | 'warn' | 'info', message: string) => void;
  /**
   * Prefix for every topic and consumer group (`<namespace>.<name>`): lets several systems, or
   * test runs, share one cluster without seeing each other. Business code keeps plain names.
   */
  namespace?: string;
  /**
   * How long the group waits for a silent member before its partitions move (ms; the failover
   * time of a killed instance). Brokers bound it (group.min/max.session.timeout.ms, 6–1800 s by default).
   */
  sessionTimeoutMs?: number;
}

/**
 * Distributed-mode bus on kafkajs. One idempotent producer per process; one consumer per
 * subscription. Offsets are resolved per message only after its outcome is handled, so a crash
 * redelivers exactly what was not finished.
 */
export class KafkaBus implements MessageBus {
  private readonly kafka: Kafka;
  private producer: Producer | null = null;
  private producerReady: Promise<Producer> | null = null;
  private readonly consumers = new Set<Consumer>();
  private admin: Admin | null = null;
  /** Open subscriptions (group and topic as named here), for consumerLag. */
  private readonly subscriptions = new Set<{ group: string; topic: string }>();
  private lagAdmin: Promise<Admin> | null = null;
  private topicsReady: Promise<void> | null = null;

  private readonly ns: (name: string) => string;

  constructor(private readonly options: KafkaBusOptions) {
    this.ns = options.namespace ? (name) => `${options.namespace}.${name}` : (name) => name;
    const log = options.log ?? (() => undefined);
    this.kafka = new Kafka({
      clientId: options.clientId,
      brokers: options.brokers,
      logLevel: logLevel.WARN,
      retry: { retries: 8, initialRetryTime: 100, maxRetryTime: 3000 },
      logCreator: () => ({ level, log: entry }) => {
        // The coordinator reshuffle during group joins is expected noise at WARN.
        if (level === logLevel.ERROR) log('error', `kafka: ${entry.message}`);
        else if (level === logLevel.WARN && !/rebalanc|not the coordinator/i.test(entry.message)) log('warn', `kafka: ${entry.message}`);
      },
    });
  }

  /** Creates the configured topics once; safe to call concurrently. */
  ensureTopics(): Promise<void> {
    if (!this.topicsReady) {
      this.topicsReady = (async () => {
        if (!this.options.topics?.length) return;
        const admin = this.kafka.admin();
        await admin.connect();
        this.admin = admin;
        try {
          const existing = new Set(await admin.listTopics());
          const missing = this.options.topics.filter((t) => !existing.has(this.ns(t.topic)));
          if (missing.length > 0) {
            await admin.createTopics({
              waitForLeaders: true,
              topics: missing.map((t) => ({ topic: this.ns(t.topic), numPartitions: t.partitions, replicationFactor: 1 })),
            });
          }
        } finally {
          await admin.disconnect();
          this.admin = null;
        }
      })().catch((error) => {
        this.topicsReady = null;
        throw error;
      });
    }
    return this.topicsReady;
  }

  /** Subscribing to a topic nobody has written yet fails in kafkajs; create it first. */
  private async ensureTopic(topic: string): Promise<void> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      if (!(await admin.listTopics()).includes(this.ns(topic))) {
        const partitions = this.options.topics?.find((t) => t.topic === topic)?.partitions ?? 1;
        await admin.createTopics({ waitForLeaders: true, topics: [{ topic: this.ns(topic), numPartitions: partitions, replicationFactor: 1 }] });
      }
    } finally {
      await admin.disconnect();
    }
  }

  /**
   * Group commit for the producer: publishes from concurrent callers are coalesced into one
   * `sendBatch` (everything queued within the same tick, plus everything queued while the
   * previous batch was in flight), up to MAX_BATCH_BYTES. The idempotent producer allows one
   * request in flight, so without this every publish would wait for the previous one's acks.
   * Each caller's promise settles with its batch.
   */
  publish(topic: string, messages: OutgoingMessage[]): Promise<void> {
    if (messages.length === 0) return Promise.resolve();
    return publishTraced('kafka', topic, messages, (traced) => {
      const encoded = traced.map((m) => ({ key: m.key, value: JSON.stringify(m.value), headers: m.headers }));
      const bytes = encoded.reduce((n, m) => n + m.value.length + m.key.length + 64, 0);
      return this.outgoing.submit({ topic: this.ns(topic), messages: encoded, bytes });
    });
  }

  private readonly outgoing = new GroupCommit<QueuedPublish, void>(
    async (batch) => {
      const producer = await this.getProducer();
      const byTopic = new Map<string, QueuedPublish['messages']>();
      for (const item of batch) byTopic.set(item.topic, [...(byTopic.get(item.topic) ?? []), ...item.messages]);
      await producer.sendBatch({ acks: -1, topicMessages: [...byTopic].map(([topic, msgs]) => ({ topic, messages: msgs })) });
      return batch.map(() => undefined);
    },
    fitsOneRequest,
  );

  async subscribe(options: SubscribeOptions): Promise<Subscription> {
    await this.ensureTopics();
    await this.ensureTopic(options.topic);
    const topic = this.ns(options.topic);
    const sessionTimeout = this.options.sessionTimeoutMs ?? 10_000;
    const consumer = this.kafka.consumer({
      groupId: this.ns(options.groupId),
      sessionTimeout,
      // Well under a third of the session, as Kafka advises, so one late heartbeat is not a death.
      heartbeatInterval: Math.min(1_000, Math.floor(sessionTimeout / 3)),
      rebalanceTimeout: Math.max(10_000, sessionTimeout),
      maxWaitTimeInMs: this.options.maxWaitTimeMs ?? 100,
      allowAutoTopicCreation: true,
    });
    this.consumers.add(consumer);
    let stopping = false;
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: options.fromBeginning ?? false });
    // Resolves at the first join, after its assignment was reported: a caller that awaits
    // subscribe knows what it owns.
    let assigned: Promise<void> = Promise.resolve();
    const joined = new Promise<void>((resolve) => {
      consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
        const partitions = [...(payload.memberAssignment[topic] ?? [])].sort((a, b) => a - b);
        assigned = assigned
          .then(() => (options.onAssignment ? this.partitionCount(topic) : 0))
          .then((partitionCount) => options.onAssignment?.({ partitions, partitionCount }))
          .catch((error) => this.options.log?.('error', `${options.groupId}: assignment of ${options.topic} not reported: ${error instanceof Error ? error.message : error}`))
          .finally(resolve);
      });
    });
    // A crash the client does not restart from leaves this member owning nothing.
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      if (!payload.restart && options.onAssignment) assigned = assigned.then(() => options.onAssignment?.({ partitions: [], partitionCount: 1 }));
    });
    await consumer.run({
      autoCommit: true,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: options.concurrency ?? 1,
      eachBatch: async ({ batch, resolveOffset, heartbeat, commitOffsetsIfNecessary, isRunning, isStale }) => {
        const messages: BusMessage[] = batch.messages.map((m) => ({
          topic: options.topic,
          key: m.key?.toString() ?? '',
          value: parseJson(m.value),
          headers: headersOf(m.headers),
          partition: batch.partition,
          offset: m.offset,
          timestamp: Number(m.timestamp),
        }));
        const heartbeatTimer = setInterval(() => void heartbeat().catch(() => undefined), 1000);
        let outcomes;
        try {
          outcomes = await runWithRetry(
            messages,
            options.handleBatch,
            () => stopping || !isRunning() || isStale(),
            (reason, attempt) => this.options.log?.('warn', `${options.groupId}: retrying ${options.topic} (attempt ${attempt}): ${reason}`),
          );
        } finally {
          clearInterval(heartbeatTimer);
        }
        const deadLetters = outcomes.flatMap((o, i) => (o.kind === 'dead-letter' ? [{ o, m: messages[i] }] : []));
        if (deadLetters.length > 0) {
          await this.publish(
            options.deadLetterTopic ?? `${options.topic}.dlq`,
            deadLetters.map(({ o, m }) => ({
              key: m.key,
              value: m.value,
              headers: { ...m.headers, 'x-dead-letter-reason': (o as { reason: string }).reason, 'x-original-topic': m.topic, 'x-original-offset': `${m.partition}:${m.offset}` },
            })),
          );
        }
        if (outcomes.length > 0) resolveOffset(messages[outcomes.length - 1].offset);
        await commitOffsetsIfNecessary();
      },
    });
    await joined;
    const subscribed = { group: options.groupId, topic: options.topic };
    this.subscriptions.add(subscribed);
    return {
      stop: async () => {
        this.subscriptions.delete(subscribed);
        stopping = true;
        await consumer.disconnect();
        this.consumers.delete(consumer);
        if (options.onAssignment) options.onAssignment({ partitions: [], partitionCount: await this.partitionCount(topic).catch(() => 1) });
      },
    };
  }

  /** Partitions of a topic (namespaced name), from the cluster's metadata. */
  private async partitionCount(topic: string): Promise<number> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
      return topics[0]?.partitions.length ?? 1;
    } finally {
      await admin.disconnect();
    }
  }

  /**
   * Lag of every open subscription per partition, read from the broker (watermarks and the
   * group's committed offsets): for a metrics scrape, never per message. A stuck consumer's lag
   * grows here even though it fetches nothing.
   */
  async consumerLag(): Promise<ConsumerLag[]> {
    if (this.subscriptions.size === 0) return [];
    this.lagAdmin ??= (async () => {
      const admin = this.kafka.admin();
      await admin.connect();
      return admin;
    })().catch((error) => {
      this.lagAdmin = null;
      throw error;
    });
    const admin = await this.lagAdmin;
    const lags = await Promise.all(
      [...this.subscriptions].map(async ({ group, topic }) => {
        const [watermarks, [committed]] = await Promise.all([admin.fetchTopicOffsets(this.ns(topic)), admin.fetchOffsets({ groupId: this.ns(group), topics: [this.ns(topic)] })]);
        return partitionLags(group, topic, watermarks, committed?.partitions ?? []);
      }),
    );
    return lags.flat();
  }

  async ping(): Promise<boolean> {
    try {
      const admin = this.kafka.admin();
      await admin.connect();
      await admin.describeCluster();
      await admin.disconnect();
      return true;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    // Publishes already accepted go out before the producer disconnects (bounded: 10 s).
    for (let waited = 0; this.outgoing.busy && waited < 10_000; waited += 10) await new Promise((r) => setTimeout(r, 10));
    await Promise.allSettled([...this.consumers].map((c) => c.disconnect()));
    this.consumers.clear();
    if (this.producerReady) await (await this.producerReady.catch(() => null))?.disconnect();
    this.producer = null;
    this.producerReady = null;
    await this.admin?.disconnect().catch(() => undefined);
    if (this.lagAdmin) await (await this.lagAdmin.catch(() => null))?.disconnect().catch(() => undefined);
    this.lagAdmin = null;
    this.subscriptions.clear();
  }

  private getProducer(): Promise<Producer> {
    if (!this.producerReady) {
      const producer = this.kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: true });
      this.producerReady = producer.connect().then(() => {
        this.producer = producer;
        return producer;
      });
      this.producerReady.catch(() => {
        this.producerReady = null;
      });
    }
    return this.producerReady;
  }
}

interface QueuedPublish {
  topic: string;
  messages: Array<{ key: string; value: string; headers?: Record<string, string> }>;
  bytes: number;
}

/** Below the broker's default 1 MiB request limit, with room for framing. */
const MAX_BATCH_BYTES = 768 * 1024;

/** The oldest queued publishes that fit one request (at least one, whatever its size). */
function fitsOneRequest(queued: readonly QueuedPublish[]): number[] {
  let bytes = 0;
  let n = 0;
  while (n < queued.length && (n === 0 || bytes + queued[n].bytes <= MAX_BATCH_BYTES)) bytes += queued[n++].bytes;
  return Array.from({ length: n }, (_, i) => i);
}

/** Header values as strings; a loop, not entries/map/fromEntries: three arrays per message add up at 100k messages/s. */
function headersOf(raw: IHeaders | undefined): Record<string, string> {
  const headers: Record<string, string> = {};
  if (raw) for (const k in raw) headers[k] = raw[k]?.toString() ?? '';
  return headers;
}

function parseJson(value: Buffer | null): unknown {
  if (!value) return null;
  try {
    return JSON.parse(value.toString('utf8'));
  } catch {
    // Handlers validate with zod and dead-letter what they cannot read.
    return { $unparseable: value.toString('utf8').slice(0, 1024) };
  }
}
