/** Exponential restart back-off, as Kubernetes does for CrashLoopBackOff, with a lower cap. */
export interface BackoffPolicy {
  /** Delay before the first restart (ms). */
  initialMs: number;
  /** Upper bound of the delay (ms). */
  maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { initialMs: 1000, maxMs: 30000 };

/** Delay before restart number `attempt` (1-based, counting consecutive failures): initial·2^(attempt-1), capped. */
export function restartDelayMs(attempt: number, policy: BackoffPolicy = DEFAULT_BACKOFF): number {
  if (attempt <= 1) return Math.min(policy.initialMs, policy.maxMs);
  // Clamp the exponent so a long crash loop never overflows to Infinity.
  const exp = Math.min(attempt - 1, 30);
  return Math.min(policy.initialMs * 2 ** exp, policy.maxMs);
}
