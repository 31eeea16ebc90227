/**
 * Group commit: items submitted by concurrent callers are written together. Everything queued
 * within one tick, and everything queued while the previous group was being written, forms the
 * next group; `take` chooses which queued items go in it (size limits, one per key...), `write`
 * answers one result per item, in order. A failed write rejects its whole group; nothing else.
 */
export class GroupCommit<T, R> {
  private readonly queue: Array<{ item: T; resolve: (result: R) => void; reject: (error: unknown) => void }> = [];
  private scheduled = false;
  private writing = false;

  constructor(
    private readonly write: (items: T[]) => Promise<R[]>,
    private readonly take: (queued: readonly T[]) => number[] = (queued) => queued.map((_, i) => i),
  ) {}

  submit(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => void this.drain());
      }
    });
  }

  /** Whether anything is queued or being written (for a graceful close). */
  get busy(): boolean {
    return this.writing || this.queue.length > 0;
  }

  private async drain(): Promise<void> {
    this.scheduled = false;
    if (this.writing) return;
    this.writing = true;
    try {
      while (this.queue.length > 0) {
        const chosen = new Set(this.take(this.queue.map((q) => q.item)));
        const group = this.queue.filter((_, i) => chosen.has(i));
        for (let i = this.queue.length - 1; i >= 0; i--) if (chosen.has(i)) this.queue.splice(i, 1);
        try {
          const results = await this.write(group.map((g) => g.item));
          group.forEach((g, i) => g.resolve(results[i]));
        } catch (error) {
          group.forEach((g) => g.reject(error));
        }
      }
    } finally {
      this.writing = false;
    }
  }
}
