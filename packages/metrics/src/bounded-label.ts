/**
 * A label whose values are capped: the first `limit` distinct values keep their own series, any
 * later one is folded into `other`, so a label taken from user data (a workload id) cannot grow
 * the series count without bound. Lookups of known values allocate nothing.
 */
export class BoundedLabel {
  static readonly OTHER = 'other';
  private readonly seen = new Set<string>();

  constructor(readonly limit: number) {}

  value(raw: string): string {
    if (this.seen.has(raw)) return raw;
    if (this.seen.size >= this.limit) return BoundedLabel.OTHER;
    this.seen.add(raw);
    return raw;
  }
}
