export interface WriterOptions {
  /** Flush as soon as this many rows are buffered; also the largest single insert. */
  flushSize: number;
  /** Flush at the latest this long after the oldest buffered row arrived. */
  flushIntervalMs: number;
}

interface Pending<Row> {
  rows: Row[];
  resolve: () => void;
  reject: (error: unknown) => void;
}

/** A source that blocks on its writes (a consumer that acknowledges only durable records). */
export interface WriterFeeder<Row> {
  write(rows: Row[]): Promise<void>;
  detach(): void;
}

/**
 * The one batched writer of a table (one instance per table per process). `write` resolves once the rows are in ClickHouse, so
 * callers acknowledge only durable data. A flush starts when the buffer reaches `flushSize`,
 * when `flushIntervalMs` has passed since its oldest row, on `close()`, or as soon as every
 * attached feeder is blocked in `write` (nothing more can arrive, so waiting out the interval
 * would only add latency). One flush runs at a time; rows that arrive meanwhile form the next.
 */
export class BatchedWriter<Row> {
  private pending: Pending<Row>[] = [];
  private pendingRows = 0;
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> | null = null;
  private feeders = 0;
  private waitingFeeders = 0;
  private closed = false;

  constructor(
    private readonly insert: (rows: Row[]) => Promise<void>,
    private readonly options: WriterOptions,
  ) {}

  write(rows: Row[]): Promise<void> {
    if (this.closed) return Promise.reject(new Error('writer is closed'));
    if (rows.length === 0) return Promise.resolve();
    const done = new Promise<void>((resolve, reject) => this.pending.push({ rows, resolve, reject }));
    this.pendingRows += rows.length;
    this.schedule();
    return done;
  }

  feeder(): WriterFeeder<Row> {
    this.feeders += 1;
    let attached = true;
    return {
      write: async (rows) => {
        this.waitingFeeders += 1;
        try {
          const done = this.write(rows);
          await done;
        } finally {
          this.waitingFeeders -= 1;
        }
      },
      detach: () => {
        if (attached) this.feeders -= 1;
        attached = false;
        this.schedule();
      },
    };
  }

  /** Flushes everything buffered so far; resolves when it is written. */
  async flush(): Promise<void> {
    while (this.flushing || this.pending.length > 0) {
      if (!this.flushing) this.startFlush();
      await this.flushing?.catch(() => undefined);
    }
  }

  /** Refuses new rows, then writes what is buffered (graceful shutdown). */
  async close(): Promise<void> {
    this.closed = true;
    await this.flush();
  }

  private schedule(): void {
    if (this.pending.length === 0 || this.flushing) return;
    const everyFeederWaits = this.feeders > 0 && this.waitingFeeders >= this.feeders;
    if (this.pendingRows >= this.options.flushSize || everyFeederWaits || this.closed) {
      this.startFlush();
    } else if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = null;
        if (!this.flushing) this.startFlush();
      }, this.options.flushIntervalMs);
    }
  }

  private startFlush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const batch = this.pending;
    this.pending = [];
    this.pendingRows = 0;
    if (batch.length === 0) return;
    this.flushing = (async () => {
      try {
        const rows = batch.flatMap((p) => p.rows);
        for (let i = 0; i < rows.length; i += this.options.flushSize) await this.insert(rows.slice(i, i + this.options.flushSize));
        for (const p of batch) p.resolve();
      } catch (error) {
        for (const p of batch) p.reject(error);
      } finally {
        this.flushing = null;
        this.schedule();
      }
    })();
  }
}
