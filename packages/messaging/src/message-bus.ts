import type { PartitionAssignment } from './partitioning';

/** A message as consumers see it. `value` is the parsed JSON body. */
export interface BusMessage {
  topic: string;
  key: string;
  value: unknown;
  headers: Record<string, string>;
  /** Broker coordinates, for logs and for deduplication tokens; synthetic in-process. */
  partition: number;
  offset: string;
  timestamp: number;
}

export interface OutgoingMessage {
  key: string;
  value: unknown;
  headers?: Record<string, string>;
}

/**
 * What a consumer step decided. Offsets are committed only after the outcome is handled:
 * `retry` re-runs the step after a back-off and never commits past the message.
 */
export type HandlerOutcome =
  | { kind: 'ok' }
  | { kind: 'skip'; reason: string }
  | { kind: 'retry'; reason: string }
  | { kind: 'dead-letter'; reason: string };

export const ok: HandlerOutcome = { kind: 'ok' };

export interface SubscribeOptions {
  topic: string;
  groupId: string;
  /** Read from the start of the topic when the group has no committed offset. */
  fromBeginning?: boolean;
  /**
   * How many partitions are handled at once (Kafka); order holds within a partition, so within
   * a key. Default 1.
   */
  concurrency?: number;
  /** Where `dead-letter` outcomes go; defaults to `<topic>.dlq`. */
  deadLetterTopic?: string;
  /**
   * Handles a batch in order; returns one outcome per message. A batch of a single message is
   * normal; batches only group what is already waiting.
   */
  handleBatch: (messages: BusMessage[]) => Promise<HandlerOutcome[]>;
  /**
   * Called with this subscriber's partitions of the topic each time the group (re)assigns
   * them, and with none once it stops: what a member owns is where keyed work (a workload's
   * replicas) should run. Must not throw.
   */
  onAssignment?: (assignment: PartitionAssignment) => void;
}

export interface Subscription {
  stop(): Promise<void>;
}

/**
 * The one seam between the services and the transport: Kafka in distributed mode, an
 * in-process queue in embedded mode. Business code sees only this.
 */
export interface MessageBus {
  publish(topic: string, messages: OutgoingMessage[]): Promise<void>;
  subscribe(options: SubscribeOptions): Promise<Subscription>;
  /** Health of the transport, for `/health`. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

export const MESSAGE_BUS = Symbol('MESSAGE_BUS');

/** Wraps a one-message handler as a batch handler. */
export function oneByOne(handle: (message: BusMessage) => Promise<HandlerOutcome>) {
  return async (messages: BusMessage[]): Promise<HandlerOutcome[]> => {
    const outcomes: HandlerOutcome[] = [];
    for (const message of messages) outcomes.push(await handle(message));
    return outcomes;
  };
}
