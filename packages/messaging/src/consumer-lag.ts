/** One partition of a subscription: how many messages its group has not committed yet. */
export interface ConsumerLag {
  group: string;
  topic: string;
  partition: number;
  lag: number;
}

/**
 * Lag per partition = high watermark − committed offset. A partition the group never committed
 * (offset -1) lags by everything still on the broker (high − low); never negative (a commit
 * can be read before the watermark it passed).
 */
export function partitionLags(
  group: string,
  topic: string,
  watermarks: ReadonlyArray<{ partition: number; high: string; low: string }>,
  committed: ReadonlyArray<{ partition: number; offset: string }>,
): ConsumerLag[] {
  const offsets = new Map(committed.map((c) => [c.partition, Number(c.offset)]));
  return watermarks.map(({ partition, high, low }) => {
    const offset = offsets.get(partition) ?? -1;
    const from = offset < 0 ? Number(low) : offset;
    return { group, topic, partition, lag: Math.max(0, Number(high) - from) };
  });
}
