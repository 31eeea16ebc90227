import type { BusMessage, HandlerOutcome } from './message-bus';

export interface RetryPolicy {
  initialDelayMs: number;
  maxDelayMs: number;
}

export const defaultRetryPolicy: RetryPolicy = { initialDelayMs: 100, maxDelayMs: 5000 };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs a batch handler until no message asks for a retry, backing off exponentially. Messages
 * before the first `retry` keep their outcome; the rest are re-run. Stops early if `stopping`
 * turns true first: then the result is shorter than `messages` and the caller commits only
 * what was done.
 */
export async function runWithRetry(
  messages: BusMessage[],
  handle: (messages: BusMessage[]) => Promise<HandlerOutcome[]>,
  stopping: () => boolean,
  onRetry: (reason: string, attempt: number) => void,
  policy: RetryPolicy = defaultRetryPolicy,
): Promise<HandlerOutcome[]> {
  const done: HandlerOutcome[] = [];
  let pending = messages;
  let delay = policy.initialDelayMs;
  let attempt = 0;
  while (pending.length > 0) {
    let outcomes: HandlerOutcome[];
    try {
      outcomes = await handle(pending);
    } catch (error) {
      // A thrown error is a bug or an outage; retrying is the only safe move that loses nothing.
      outcomes = pending.map(() => ({ kind: 'retry', reason: error instanceof Error ? error.message : String(error) }));
    }
    const firstRetry = outcomes.findIndex((o) => o.kind === 'retry');
    if (firstRetry === -1) return [...done, ...outcomes];
    done.push(...outcomes.slice(0, firstRetry));
    pending = pending.slice(firstRetry);
    attempt += 1;
    onRetry((outcomes[firstRetry] as { reason: string }).reason, attempt);
    if (stopping()) return done;
    await sleep(delay);
    if (stopping()) return done;
    delay = Math.min(delay * 2, policy.maxDelayMs);
  }
  return done;
}
