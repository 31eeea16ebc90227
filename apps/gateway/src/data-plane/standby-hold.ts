/**
 * The bookkeeping of requests held while a proton is scaled to zero (or coming up from zero):
 * pure, no timers, sockets or bus, time comes in as `now` (ms). `StandbyHolder` does the I/O.
 *
 * Held requests are queued per key (a workload and the proton it selects), in arrival order.
 * Two bounds keep memory finite: `perWorkload` held requests per key and `total` across all of
 * them; a request past either is refused at once. Each request has its own deadline,
 * `timeoutMs` after it was held.
 */
export interface HoldLimits {
  /** Most requests held for one key. */
  perWorkload: number;
  /** Most requests held by this gateway across all keys. */
  total: number;
  timeoutMs: number;
  /** Shortest gap between two demand signals of one key while it holds requests (ms). */
  demandEveryMs: number;
}

export type Admission = { kind: 'held'; position: number; first: boolean } | { kind: 'refused'; reason: 'workload-full' | 'total-full' };

interface Queue<T> {
  items: Array<{ item: T; deadline: number }>;
  /** When the last demand signal of this key went out (ms); -Infinity: not yet. */
  demandAt: number;
}

export class HoldBook<T> {
  private readonly queues = new Map<string, Queue<T>>();
  private held = 0;

  constructor(private readonly limits: HoldLimits) {}

  /** Requests held across all keys. */
  get total(): number {
    return this.held;
  }

  count(key: string): number {
    return this.queues.get(key)?.items.length ?? 0;
  }

  keys(): IterableIterator<string> {
    return this.queues.keys();
  }

  /** Queues `item` at the back of `key`'s queue, or refuses it when a bound is reached. `first`: the key held nothing before. */
  admit(key: string, item: T, now: number): Admission {
    const queue = this.queues.get(key);
    if ((queue?.items.length ?? 0) >= this.limits.perWorkload) return { kind: 'refused', reason: 'workload-full' };
    if (this.held >= this.limits.total) return { kind: 'refused', reason: 'total-full' };
    const q = queue ?? { items: [], demandAt: Number.NEGATIVE_INFINITY };
    if (!queue) this.queues.set(key, q);
    q.items.push({ item, deadline: now + this.limits.timeoutMs });
    this.held += 1;
    return { kind: 'held', position: q.items.length, first: !queue };
  }

  /** Takes `item` out of the queue (its caller left); false when it was not held (any more). */
  remove(key: string, item: T): boolean {
    const queue = this.queues.get(key);
    const index = queue?.items.findIndex((entry) => entry.item === item) ?? -1;
    if (!queue || index === -1) return false;
    queue.items.splice(index, 1);
    this.held -= 1;
    if (queue.items.length === 0) this.queues.delete(key);
    return true;
  }

  /** Takes out and returns, oldest first, the requests of `key` whose deadline has come. */
  expire(key: string, now: number): T[] {
    const queue = this.queues.get(key);
    if (!queue) return [];
    // Deadlines grow with arrival (one timeout for all), so the expired ones are a prefix.
    let n = 0;
    while (n < queue.items.length && queue.items[n].deadline <= now) n += 1;
    return this.take(key, queue, n);
  }

  /** Takes out and returns every request of `key`, in arrival order: they go on (forwarded or answered). */
  release(key: string): T[] {
    const queue = this.queues.get(key);
    return queue ? this.take(key, queue, queue.items.length) : [];
  }

  /** The oldest request still held for `key`. */
  oldest(key: string): T | undefined {
    return this.queues.get(key)?.items[0]?.item;
  }

  /** Milliseconds until the first deadline of `key` (0 when past); Infinity when nothing is held. */
  untilDeadline(key: string, now: number): number {
    const first = this.queues.get(key)?.items[0];
    return first ? Math.max(0, first.deadline - now) : Number.POSITIVE_INFINITY;
  }

  /**
   * Whether a demand signal of `key` should go out now: at once for the first held request, then
   * at most every `demandEveryMs` while the key holds any. A true answer counts as sent.
   */
  demandDue(key: string, now: number): boolean {
    const queue = this.queues.get(key);
    if (!queue || now - queue.demandAt < this.limits.demandEveryMs) return false;
    queue.demandAt = now;
    return true;
  }

  private take(key: string, queue: Queue<T>, n: number): T[] {
    if (n === 0) return [];
    const taken = queue.items.splice(0, n).map((entry) => entry.item);
    this.held -= taken.length;
    if (queue.items.length === 0) this.queues.delete(key);
    return taken;
  }
}
