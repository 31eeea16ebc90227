/**
 * The read-model seam: MongoDB collections in distributed mode, an embedded document store in
 * embedded mode. Read models are disposable — rebuilt from the event store on demand — so the
 * embedded store favours simplicity over scale.
 *
 * Filters are a small, explicit subset of MongoDB's query language so both stores evaluate
 * them identically; see `filter.matcher.ts` for the reference semantics.
 */
export type Scalar = string | number | boolean | null;

export type FieldCondition =
  | Scalar
  | { $in: Scalar[] }
  | { $nin: Scalar[] }
  | { $ne: Scalar }
  | { $regex: string; $options?: 'i' }
  | { $gt: Scalar }
  | { $gte: Scalar }
  | { $lt: Scalar }
  | { $lte: Scalar }
  | { $exists: boolean };

export type Filter = { [field: string]: FieldCondition } | { $or: Filter[] } | { $and: Filter[] };

export interface FindOptions {
  sort?: Array<[field: string, direction: 1 | -1]>;
  skip?: number;
  limit?: number;
}

export interface Doc {
  _id: string;
  [key: string]: unknown;
}

/**
 * One held write of a unit of work. `exists`: whether the document is known to be in the store
 * (replace it), known not to be (insert it), or not known (null). `base` (with `exists`): the
 * document the write was computed from, as the store holds it; a store may write only the
 * fields that differ from it.
 */
export type ReadModelWrite = { put: Doc; exists: boolean | null; base?: Doc } | { delete: string };

export interface GetOptions {
  /**
   * A versioned document (`v`: the last stream version applied) that this process wrote last at
   * exactly this version may be answered from that write, without a read (a store may ignore
   * it; the unit of work honours it only while projecting this process's own fresh appends). A
   * projection applying stream version N passes N − 1: the document at N − 1 holds everything of
   * the stream before N, whoever wrote it, so only fields of other streams can differ, and those
   * are kept by writing only what changed (`ReadModelWrite.base`).
   */
  ownWriteAt?: number;
}

export interface ReadModelStore {
  get<T extends Doc>(collection: string, id: string, options?: GetOptions): Promise<T | null>;
  /** Like `get`, without a private copy: the caller must not change the document. */
  peek?<T extends Doc>(collection: string, id: string): Promise<T | null>;
  /** Inserts or replaces the whole document; the caller must not change `doc` afterwards. */
  put(collection: string, doc: Doc): Promise<void>;
  /** Sets top-level fields on every matching document; returns how many matched. */
  setWhere(collection: string, filter: Filter, fields: Record<string, unknown>): Promise<number>;
  delete(collection: string, id: string): Promise<void>;
  /** Applies writes to one collection together, in order: a bulk write, a transaction. */
  writeMany(collection: string, writes: ReadModelWrite[]): Promise<void>;
  find<T extends Doc>(collection: string, filter: Filter, options?: FindOptions): Promise<T[]>;
  count(collection: string, filter: Filter): Promise<number>;
  drop(collection: string): Promise<void>;
  ensureIndexes(collection: string, indexes: Array<Record<string, 1 | -1>>): Promise<void>;
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

export const READ_MODEL_STORE = Symbol('READ_MODEL_STORE');
