import { Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { RequestRecord, Topics } from '@wcp/contracts';
import type { MessageBus } from '@wcp/messaging';
import { sampled } from '@wcp/metrics';

export interface RequestRecorderOptions {
  /** Records held at most; a record arriving when full is dropped and counted (drop newest). */
  bufferLimit: number;
  /** Records per publish; reaching it triggers a publish without waiting for the interval. */
  batchSize: number;
  flushIntervalMs: number;
  /** Back-off after a failed publish, doubling from the first to the second value (ms). */
  retryDelayMs?: [number, number];
  /** How long shutdown keeps trying to publish what is left (ms). */
  shutdownTimeoutMs?: number;
  now?: () => number;
  logger?: Pick<Logger, 'warn' | 'error'>;
}

export interface RequestRecorderStats {
  buffered: number;
  recorded: number;
  published: number;
  /** Records lost because the buffer was full (or left over at shutdown). Only ever grows. */
  dropped: number;
  publishFailures: number;
  lastError: string | null;
}

/** Warnings about drops and publish failures are rate-limited to one per this interval (ms). */
const WARN_EVERY_MS = 10_000;

/**
 * Carries request records to `Topics.requests` (keyed by workloadId) off the request path:
 * `record()` only appends to a bounded array; publishing happens in batches, on size or on
 * interval, one publish at a time, and at shutdown.
 *
 * Buffer full → the new record is dropped and counted (drop newest): what is already buffered
 * is older and closer to being published, and the request itself is never slowed or failed.
 * A failed publish puts its batch back at the front (trimming newest beyond the bound) and
 * waits an exponential back-off before the next attempt.
 */
export class RequestRecorder implements OnModuleInit, OnApplicationShutdown {
  private buffer: RequestRecord[] = [];
  private flushing: Promise<void> | null = null;
  private flushQueued = false;
  private timer: NodeJS.Timeout | null = null;
  private retryAt = 0;
  private backoffMs = 0;
  private closed = false;
  private lastWarnAt = Number.NEGATIVE_INFINITY;
  private droppedAtLastWarn = 0;
  private readonly counters = { recorded: 0, published: 0, dropped: 0, publishFailures: 0 };
  private lastError: string | null = null;
  private readonly now: () => number;
  private readonly logger: Pick<Logger, 'warn' | 'error'>;
  private readonly retryDelayMs: [number, number];

  constructor(private readonly bus: MessageBus, private readonly options: RequestRecorderOptions) {
    this.now = options.now ?? Date.now;
    this.logger = options.logger ?? new Logger('RequestRecorder');
    this.retryDelayMs = options.retryDelayMs ?? [200, 10_000];
  }

  private unsample: Array<() => void> = [];

  onModuleInit(): void {
    this.start();
    // Read at scrape time from the counters this class keeps anyway: nothing added per record.
    this.unsample = [
      sampled('counter', 'wcp_request_records_dropped_total', 'Request records dropped because the recorder\'s buffer was full (or left at shutdown): statistics are missing them.', [], (add) => add({}, this.counters.dropped)),
      sampled('gauge', 'wcp_request_records_buffered', 'Request records held in the gateway\'s buffer, waiting to be published.', [], (add) => add({}, this.buffer.length)),
      sampled('counter', 'wcp_request_records_publish_failures_total', 'Failed publishes of a batch of request records (retried with back-off).', [], (add) => add({}, this.counters.publishFailures)),
    ];
  }

  /** Starts the interval flush; the timer never keeps the process alive. */
  start(): void {
    if (this.timer || this.closed) return;
    this.timer = setInterval(() => void this.tick(), this.options.flushIntervalMs);
    this.timer.unref();
  }

  /** O(1), never throws, never waits. */
  record(record: RequestRecord): void {
    if (this.closed || this.buffer.length >= this.options.bufferLimit) {
      this.counters.dropped += 1;
      return;
    }
    this.buffer.push(record);
    this.counters.recorded += 1;
    if (this.buffer.length >= this.options.batchSize && !this.flushQueued && !this.flushing && this.now() >= this.retryAt) {
      this.flushQueued = true;
      setImmediate(() => {
        this.flushQueued = false;
        void this.flush();
      });
    }
  }

  stats(): RequestRecorderStats {
    return { buffered: this.buffer.length, ...this.counters, lastError: this.lastError };
  }

  /**
   * Publishes everything buffered, batch by batch, unless a back-off is running (`force`
   * ignores it). Resolves when done or at the first failure; never rejects.
   */
  flush(force = false): Promise<void> {
    if (this.flushing) return this.flushing;
    if (this.buffer.length === 0 || (!force && this.now() < this.retryAt)) return Promise.resolve();
    this.flushing = this.drain().finally(() => {
      this.flushing = null;
    });
    return this.flushing;
  }

  /** Called by the interval: flush, and say so when records were dropped. */
  async tick(): Promise<void> {
    await this.flush();
    const now = this.now();
    if (this.counters.dropped > this.droppedAtLastWarn && now - this.lastWarnAt >= WARN_EVERY_MS) {
      this.logger.warn(
        `${this.counters.dropped - this.droppedAtLastWarn} request records dropped since the last warning: buffer full at ${this.options.bufferLimit} ` +
          `(total dropped ${this.counters.dropped}, last publish error: ${this.lastError ?? 'none'}).`,
      );
      this.droppedAtLastWarn = this.counters.dropped;
      this.lastWarnAt = now;
    }
  }

  /** After the HTTP server closed (in-flight requests have recorded), publish what is left. */
  async onApplicationShutdown(): Promise<void> {
    for (const remove of this.unsample) remove();
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.closed = true;
    const deadline = this.now() + (this.options.shutdownTimeoutMs ?? 5000);
    while (this.buffer.length > 0 || this.flushing) {
      await this.flush(true);
      if (this.buffer.length === 0 || this.now() >= deadline) break;
      await new Promise((resolve) => setTimeout(resolve, Math.min(this.backoffMs || 50, Math.max(0, deadline - this.now()))));
    }
    if (this.buffer.length > 0) {
      this.counters.dropped += this.buffer.length;
      this.logger.error(`${this.buffer.length} request records were not published before shutdown: ${this.lastError ?? 'unknown error'}.`);
      this.buffer = [];
    }
  }

  private async drain(): Promise<void> {
    while (this.buffer.length > 0) {
      const batch = this.buffer.splice(0, this.options.batchSize);
      try {
        await this.bus.publish(
          Topics.requests,
          batch.map((record) => ({ key: record.workloadId, value: record })),
        );
        this.counters.published += batch.length;
        this.backoffMs = 0;
        this.retryAt = 0;
      } catch (error) {
        this.requeue(batch);
        this.counters.publishFailures += 1;
        this.lastError = error instanceof Error ? error.message : String(error);
        const [first, max] = this.retryDelayMs;
        this.backoffMs = this.backoffMs === 0 ? first : Math.min(this.backoffMs * 2, max);
        this.retryAt = this.now() + this.backoffMs;
        const now = this.now();
        if (now - this.lastWarnAt >= WARN_EVERY_MS) {
          this.lastWarnAt = now;
          this.droppedAtLastWarn = this.counters.dropped;
          this.logger.warn(`Publishing request records failed (${this.buffer.length} buffered, retry in ${this.backoffMs} ms): ${this.lastError}`);
        }
        return;
      }
    }
  }

  /** A failed batch goes back in front, oldest first; the bound holds by dropping the newest. */
  private requeue(batch: RequestRecord[]): void {
    this.buffer = batch.concat(this.buffer);
    const excess = this.buffer.length - this.options.bufferLimit;
    if (excess > 0) {
      this.buffer.length = this.options.bufferLimit;
      this.counters.dropped += excess;
    }
  }
}
