import { GroupCommit } from './group-commit';

describe('GroupCommit', () => {
  it('writes what concurrent callers submit together, and what arrives meanwhile in the next group', async () => {
    const groups: number[][] = [];
    const commit = new GroupCommit<number, number>(async (items) => {
      groups.push(items);
      await new Promise((r) => setTimeout(r, 5));
      return items.map((i) => i * 10);
    });
    const first = [1, 2, 3].map((i) => commit.submit(i));
    await new Promise((r) => setImmediate(r));
    const second = [4, 5].map((i) => commit.submit(i));
    expect(await Promise.all([...first, ...second])).toEqual([10, 20, 30, 40, 50]);
    expect(groups).toEqual([[1, 2, 3], [4, 5]]);
  });

  it('lets `take` hold items back for a later group, and fails only the group whose write failed', async () => {
    const groups: string[][] = [];
    const commit = new GroupCommit<string, string>(
      async (items) => {
        groups.push(items);
        if (items.includes('bad')) throw new Error('boom');
        return items;
      },
      // One item per key (the first letter) in a group.
      (queued) => queued.flatMap((item, i) => (queued.findIndex((q) => q[0] === item[0]) === i ? [i] : [])),
    );
    const results = await Promise.allSettled(['a1', 'a2', 'bad', 'c1'].map((i) => commit.submit(i)));
    expect(groups).toEqual([['a1', 'bad', 'c1'], ['a2']]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'fulfilled', 'rejected', 'rejected']);
  });
});
