import { randomBytes } from 'node:crypto';
import { z } from 'zod';

/** 24 lowercase hex characters: ObjectId-shaped, as the API promises for every id. */
export const ID_PATTERN = /^[0-9a-f]{24}$/;
export const Id = z.string().regex(ID_PATTERN, 'must be 24 lowercase hex characters');

let counter = randomBytes(3).readUIntBE(0, 3);
const processUnique = randomBytes(5).toString('hex');

/**
 * ObjectId layout (seconds, per-process random, counter) so ids sort roughly by creation time
 * and never collide between processes.
 */
export function newId(nowMs: number = Date.now()): string {
  counter = (counter + 1) % 0xffffff;
  const seconds = Math.floor(nowMs / 1000).toString(16).padStart(8, '0');
  return seconds + processUnique + counter.toString(16).padStart(6, '0');
}

/** RFC 3339 UTC with milliseconds, the only time format of the API. */
export const IsoTime = z.string().datetime({ offset: false, precision: 3 });
