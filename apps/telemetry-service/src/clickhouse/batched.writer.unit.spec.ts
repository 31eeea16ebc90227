import { BatchedWriter } from './batched.writer';

interface Row {
  id: string;
}
const row = (id: string): Row => ({ id });
const rows = (n: number, p = 'r') => Array.from({ length: n }, (_, i) => row(`${p}${i}`));
const tick = () => new Promise((r) => setImmediate(r));

describe('BatchedWriter', () => {
  afterEach(() => jest.useRealTimers());

  it('flushes on size, in inserts of at most flushSize rows', async () => {
    const inserts: number[] = [];
    const w = new BatchedWriter<Row>(async (r) => void inserts.push(r.length), { flushSize: 3, flushIntervalMs: 60_000 });
    await w.write(rows(7));
    expect(inserts).toEqual([3, 3, 1]);
  });

  it('flushes on the interval when below the size', async () => {
    jest.useFakeTimers();
    const inserts: number[] = [];
    const w = new BatchedWriter<Row>(async (r) => void inserts.push(r.length), { flushSize: 100, flushIntervalMs: 1000 });
    const a = w.write(rows(2));
    const b = w.write(rows(3));
    await jest.advanceTimersByTimeAsync(999);
    expect(inserts).toEqual([]);
    await jest.advanceTimersByTimeAsync(1);
    await Promise.all([a, b]);
    expect(inserts).toEqual([5]);
  });

  it('flushes at once when every attached feeder is waiting', async () => {
    const inserts: number[] = [];
    const w = new BatchedWriter<Row>(async (r) => void inserts.push(r.length), { flushSize: 100, flushIntervalMs: 60_000 });
    const f1 = w.feeder();
    const f2 = w.feeder();
    const a = f1.write(rows(2));
    await tick();
    expect(inserts).toEqual([]); // f2 may still add rows
    const b = f2.write(rows(4));
    await Promise.all([a, b]);
    expect(inserts).toEqual([6]);
    f2.detach();
    await f1.write(rows(1));
    expect(inserts).toEqual([6, 1]);
  });

  it('coalesces rows written during a flush into the next one', async () => {
    const inserts: string[][] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const w = new BatchedWriter<Row>(async (r) => {
      inserts.push(r.map((x) => x.id));
      if (inserts.length === 1) await gate;
    }, { flushSize: 2, flushIntervalMs: 60_000 });
    const a = w.write(rows(2, 'a'));
    const b = w.write(rows(1, 'b'));
    const c = w.write(rows(1, 'c'));
    release();
    await Promise.all([a, b, c]);
    expect(inserts).toEqual([['a0', 'a1'], ['b0', 'c0']]);
  });

  it('rejects the writes of a failed flush, and close() flushes what is left', async () => {
    let fail = true;
    const inserted: number[] = [];
    const w = new BatchedWriter<Row>(async (r) => {
      if (fail) throw new Error('down');
      inserted.push(r.length);
    }, { flushSize: 2, flushIntervalMs: 60_000 });
    await expect(w.write(rows(2))).rejects.toThrow('down');
    fail = false;
    const pending = w.write(rows(1));
    await w.close();
    await pending;
    expect(inserted).toEqual([1]);
    await expect(w.write(rows(1))).rejects.toThrow('closed');
  });
});
