import { Partitioners } from 'kafkajs';
import { ownsKey, partitionOf } from './partitioning';

describe('partitionOf', () => {
  it('agrees with the producer\'s default partitioner for every partition count', () => {
    const producer = Partitioners.DefaultPartitioner();
    for (const count of [2, 3, 6, 12]) {
      const partitionMetadata = Array.from({ length: count }, (_, partitionId) => ({ partitionId, leader: 0, replicas: [0], isr: [0], partitionErrorCode: 0 }));
      for (let i = 0; i < 200; i++) {
        const key = `wl-${i.toString(36)}-${(i * 7919).toString(16)}`;
        expect(partitionOf(key, count)).toBe(producer({ topic: 't', partitionMetadata, message: { key, value: null } }));
      }
    }
  });

  it('spreads keys over the partitions, and splits ownership between members without overlap', () => {
    const keys = Array.from({ length: 600 }, (_, i) => `workload-${i}`);
    const a = { partitions: [0, 2, 4], partitionCount: 6 };
    const b = { partitions: [1, 3, 5], partitionCount: 6 };
    const ownedByA = keys.filter((k) => ownsKey(a, k));
    const ownedByB = keys.filter((k) => ownsKey(b, k));
    expect(ownedByA.length + ownedByB.length).toBe(keys.length);
    expect(ownedByA.filter((k) => ownedByB.includes(k))).toEqual([]);
    expect(ownedByA.length).toBeGreaterThan(200);
    expect(ownedByB.length).toBeGreaterThan(200);
  });

  it('gives one partition everything', () => {
    expect(ownsKey({ partitions: [0], partitionCount: 1 }, 'anything')).toBe(true);
    expect(ownsKey({ partitions: [], partitionCount: 6 }, 'anything')).toBe(false);
  });
});
