import type { mongo } from 'mongoose';

/**
 * `position_blocks`: global positions are handed out in blocks of POSITION_BLOCK, one writer per
 * block. A block also carries the outbox's progress through it: `published`, the highest position
 * up to which every position of the block is published or void (a collided append, a write that
 * never landed). Blocks written before this field existed have none; their commits are tracked
 * by the legacy `pending_published` markers.
 */
export interface BlockDoc {
  _id: number;
  at: number;
  owner?: string;
  published?: number;
  /** The last position the owner used, once it stopped using the block (closed). */
  last?: number;
  closedAt?: number;
  /** The owner's heartbeat, and the last position it had handed out then. */
  alive?: number;
  assigned?: number;
}

export const POSITION_BLOCK = 10_000;
const HEARTBEAT_MS = 10_000;
/** An owner whose heartbeat has not landed this long claims a new block before writing again. */
const OWN_STALE_MS = 30_000;
/**
 * A block whose heartbeat is this old is closed by the sweep at its first missing position; in
 * a closed block, a position still missing this long after the close will never be written.
 * Twice OWN_STALE_MS: an owner stops writing into a block well before anyone may close it
 * (clocks of the instances may differ by less than the difference).
 */
export const DEAD_AFTER_MS = 60_000;
/**
 * Marks moved by publishing are written at most this often: a mark may lag (a crash then
 * republishes a few commits, which consumers dedupe), and a write per publish batch would cost
 * FerretDB's single SQLite writer as much as the appends themselves.
 */
const MARK_FLUSH_MS = 200;

export const firstOf = (block: number) => (block - 1) * POSITION_BLOCK + 1;
export const endOf = (block: number) => block * POSITION_BLOCK;
export const blockOf = (position: number) => Math.ceil(position / POSITION_BLOCK);

/**
 * This process's view of the position blocks: the block it writes into, and for every block it
 * has settled positions of, the published mark and the positions above it known to be settled
 * (published out of order, or void). Marks only move up (`$max`), whoever writes them.
 */
export class PositionBlocks {
  private current: { number: number; next: number; end: number } | null = null;
  private lastBeat = 0;
  private timer: NodeJS.Timeout | null = null;
  private readonly marks = new Map<number, { mark: number; done: Set<number> }>();
  /** Blocks whose mark moved here since it was last written. */
  private readonly unwritten = new Set<number>();
  private flushTimer: NodeJS.Timeout | null = null;

  constructor(private readonly db: () => mongo.Db, private readonly owner: string) {}

  private get collection(): mongo.Collection<BlockDoc> {
    return this.db().collection<BlockDoc>('position_blocks');
  }

  get currentBlock(): number | null {
    return this.current?.number ?? null;
  }

  /**
   * The first of `n` consecutive positions. A block is claimed by inserting its number (a unique
   * `_id`: the one write every MongoDB-wire server makes atomic; FerretDB's `findAndModify` is not
   * atomic across connections). Positions are unique and increase within a process.
   */
  async reserve(n: number): Promise<number> {
    if (!this.current || this.current.next + n - 1 > this.current.end || Date.now() - this.lastBeat > OWN_STALE_MS) await this.claim();
    const first = this.current!.next;
    this.current!.next += n;
    return first;
  }

  /**
   * After a write of unknown outcome: its positions may or may not exist. The block is closed
   * where it stands and the sweep sorts its tail out; the next write claims a fresh block.
   */
  retire(): void {
    void this.release();
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.timer = this.flushTimer = null;
    await this.flushMarks().catch(() => undefined);
    await this.release();
  }

  /** Stops writing into the current block and records its extent (best effort: the sweep closes it otherwise). */
  private async release(): Promise<void> {
    const old = this.current;
    this.current = null;
    if (old) await this.closeAt(old.number, old.next - 1).catch(() => undefined);
  }

  async closeAt(block: number, last: number): Promise<void> {
    await this.collection.updateOne({ _id: block }, { $set: { last, closedAt: Date.now() } });
  }

  private async claim(): Promise<void> {
    const previous = this.current?.number;
    await this.release();
    let candidate = previous !== undefined ? previous + 1 : await this.after();
    for (;;) {
      const now = Date.now();
      try {
        await this.collection.insertOne({ _id: candidate, at: now, owner: this.owner, published: firstOf(candidate) - 1, alive: now, assigned: firstOf(candidate) - 1 });
        break;
      } catch (error) {
        if ((error as { code?: number }).code !== 11000) throw error;
        candidate = await this.after(candidate);
      }
    }
    this.current = { number: candidate, next: firstOf(candidate), end: endOf(candidate) };
    this.marks.set(candidate, { mark: firstOf(candidate) - 1, done: new Set() });
    this.lastBeat = Date.now();
    this.timer ??= setInterval(() => void this.beat(), HEARTBEAT_MS).unref();
  }

  private async after(floor = 0): Promise<number> {
    const [top] = await this.collection.find({}).sort({ _id: -1 }).limit(1).toArray();
    return Math.max(top?._id ?? 0, floor) + 1;
  }

  private async beat(): Promise<void> {
    const current = this.current;
    if (!current) return;
    const now = Date.now();
    try {
      await this.collection.updateOne({ _id: current.number }, { $set: { alive: now, assigned: current.next - 1 } });
      if (this.current === current) this.lastBeat = now;
    } catch {
      // Missed: after OWN_STALE_MS of these the next write moves to a new block.
    }
  }

  /** Every block, oldest first (a small collection: one document per block). */
  all(): Promise<BlockDoc[]> {
    return this.collection.find({}).sort({ _id: 1 }).toArray();
  }

  /** The mark of `block` as the document says, raised by what this process settled since. */
  known(doc: BlockDoc): { mark: number; done: Set<number> } {
    const mine = this.marks.get(doc._id);
    const stored = doc.published ?? firstOf(doc._id) - 1;
    if (!mine) {
      const fresh = { mark: stored, done: new Set<number>() };
      this.marks.set(doc._id, fresh);
      return fresh;
    }
    if (stored > mine.mark) {
      mine.mark = stored;
      for (const p of mine.done) if (p <= stored) mine.done.delete(p);
    }
    return mine;
  }

  /** Whether `position` is known to be published: at or below its block's mark (read now), or settled here. */
  async isPublished(position: number, docs: Map<number, BlockDoc | null>): Promise<boolean> {
    const block = blockOf(position);
    if (!docs.has(block)) docs.set(block, await this.collection.findOne({ _id: block }));
    const doc = docs.get(block);
    if (!doc || doc.published === undefined) return false;
    const known = this.known(doc);
    return position <= known.mark || known.done.has(position);
  }

  /**
   * Records positions as settled (published, or void) and moves each block's mark over the
   * contiguous run above it. The marks are written (`$max`) now with `immediately`, else within
   * MARK_FLUSH_MS.
   */
  async settle(positions: number[], immediately = false): Promise<void> {
    const byBlock = new Map<number, number[]>();
    for (const p of positions) byBlock.set(blockOf(p), [...(byBlock.get(blockOf(p)) ?? []), p]);
    for (const [block, list] of byBlock) {
      let state = this.marks.get(block);
      if (!state) {
        const doc = await this.collection.findOne({ _id: block });
        if (!doc || doc.published === undefined) continue;
        state = this.known(doc);
      }
      for (const p of list) if (p > state.mark) state.done.add(p);
      const before = state.mark;
      while (state.done.delete(state.mark + 1)) state.mark += 1;
      if (state.mark > before) this.unwritten.add(block);
    }
    if (immediately) return this.flushMarks();
    this.flushTimer ??= setTimeout(() => {
      this.flushTimer = null;
      void this.flushMarks().catch(() => undefined);
    }, MARK_FLUSH_MS).unref();
  }

  /** Writes the marks that moved; one `$max` per block. A failed write is retried with the next. */
  async flushMarks(): Promise<void> {
    for (const block of [...this.unwritten]) {
      const state = this.marks.get(block);
      this.unwritten.delete(block);
      if (!state) continue;
      try {
        await this.collection.updateOne({ _id: block }, { $max: { published: state.mark } });
      } catch (error) {
        this.unwritten.add(block);
        throw error;
      }
      // A block nobody writes any more, fully settled, needs no memory here.
      if (block !== this.current?.number && state.mark >= endOf(block)) this.marks.delete(block);
    }
  }

  /** Positions handed out and not known to be settled, over every block (the owners' heartbeats: up to 10 s old). */
  async unsettled(limit: number): Promise<number> {
    let total = 0;
    for (const doc of await this.all()) {
      if (doc.published === undefined) continue;
      const upTo = doc._id === this.current?.number ? this.current.next - 1 : (doc.last ?? doc.assigned ?? doc.published);
      const known = this.known(doc);
      total += Math.max(0, upTo - known.mark - [...known.done].filter((p) => p <= upTo).length);
      if (total >= limit) return limit;
    }
    return total;
  }
}
