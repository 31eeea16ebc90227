/**
 * Round robin per key (workload and proton). The list of replicas may change between calls;
 * the counter keeps advancing, so a changed list is still visited evenly.
 */
export class RoundRobin {
  private readonly next = new Map<string, number>();

  constructor(private readonly maxKeys = 10_000) {}

  pick<T>(key: string, items: readonly T[]): T {
    if (items.length === 0) throw new Error('round robin over an empty list');
    const n = this.next.get(key) ?? 0;
    if (!this.next.has(key) && this.next.size >= this.maxKeys) this.next.clear();
    this.next.set(key, (n + 1) % 1_000_000_007);
    return items[n % items.length];
  }
}
