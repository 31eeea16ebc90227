import type { BusMessage } from './message-bus';
import { InProcessBus } from './in-process.bus';

/** Publishes `n` messages with no group yet, then reads the topic from the beginning: the offsets seen. */
async function backlogSeen(bus: InProcessBus, n: number): Promise<number[]> {
  for (let i = 0; i < n; i += 1000) await bus.publish('t', Array.from({ length: Math.min(1000, n - i) }, (_, j) => ({ key: 'k', value: i + j })));
  const seen: number[] = [];
  let done!: () => void;
  const drained = new Promise<void>((resolve) => (done = resolve));
  const sub = await bus.subscribe({
    topic: 't',
    groupId: 'g',
    fromBeginning: true,
    handleBatch: async (messages: BusMessage[]) => {
      for (const m of messages) seen.push(m.value as number);
      if (seen.at(-1) === n - 1) done();
      return messages.map(() => ({ kind: 'ok' as const }));
    },
  });
  await drained;
  await sub.stop();
  await bus.close();
  return seen;
}

it('keeps only the newest 10 000 unread messages of a topic no group reads, unless told to keep more', async () => {
  const dropped = await backlogSeen(new InProcessBus(), 25_000);
  expect(dropped.length).toBeLessThan(25_000);
  expect(dropped.length).toBeGreaterThanOrEqual(10_000);
  expect(dropped.at(-1)).toBe(24_999);

  const kept = await backlogSeen(new InProcessBus({ unreadRetention: 25_000 }), 25_000);
  expect(kept).toEqual(Array.from({ length: 25_000 }, (_, i) => i));
});
