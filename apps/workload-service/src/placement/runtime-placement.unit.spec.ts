import { partitionOf } from '@wcp/messaging';
import { RuntimePlacement } from './runtime-placement';

describe('RuntimePlacement', () => {
  it('owns nothing before the first assignment, then exactly the keys of its partitions', () => {
    const placement = new RuntimePlacement();
    expect(placement.owns('w-1')).toBe(false);
    const p = partitionOf('w-1', 6);
    placement.assign({ partitions: [p], partitionCount: 6 });
    expect(placement.owns('w-1')).toBe(true);
    placement.assign({ partitions: [(p + 1) % 6], partitionCount: 6 });
    expect(placement.owns('w-1')).toBe(false);
  });

  it('tells listeners about real changes only', () => {
    const placement = new RuntimePlacement();
    const changes: number[][] = [];
    placement.onChange(() => changes.push(placement.current()!.partitions));
    placement.assign({ partitions: [0, 1], partitionCount: 6 });
    placement.assign({ partitions: [0, 1], partitionCount: 6 });
    placement.assign({ partitions: [2], partitionCount: 6 });
    placement.assign({ partitions: [], partitionCount: 6 });
    expect(changes).toEqual([[0, 1], [2], []]);
  });

  it('knows since when it owns each workload: kept partitions keep their time, regained ones start over', () => {
    let now = '2026-12-01T10:00:00.000Z';
    const placement = new RuntimePlacement(() => now);
    const p = partitionOf('w-1', 6);
    const other = (p + 1) % 6;
    placement.assign({ partitions: [p, other], partitionCount: 6 });
    now = '2026-12-01T10:00:05.000Z';
    placement.assign({ partitions: [p], partitionCount: 6 });
    expect(placement.ownedSince('w-1')).toBe('2026-12-01T10:00:00.000Z');
    placement.assign({ partitions: [other], partitionCount: 6 });
    expect(placement.ownedSince('w-1')).toBeNull();
    now = '2026-12-01T10:00:09.000Z';
    placement.assign({ partitions: [p, other], partitionCount: 6 });
    expect(placement.ownedSince('w-1')).toBe('2026-12-01T10:00:09.000Z');
  });
});
