import { restartDelayMs, type BackoffPolicy } from './restart-backoff';

/** Exit code by which catalog images report EADDRINUSE: the port was taken between allocation and bind. */
export const EXIT_PORT_IN_USE = 98;

/** How many times a replica that never got ready may retry on a fresh port after EADDRINUSE. */
const MAX_PORT_RETRIES = 3;

export interface ExitFacts {
  /** The proton still wants the replica, and nobody stopped or failed it on purpose. */
  wanted: boolean;
  exitCode: number | null;
  everReadyThisRun: boolean;
  portRetries: number;
  /** How long the process ran (ms). */
  runMs: number;
  consecutiveFailures: number;
}

export interface ExitPolicy {
  /** A run at least this long resets the consecutive-failure count (ms). */
  stableRunMs: number;
  /** Consecutive failed runs tolerated; one more errors the proton. */
  maxRestarts: number;
  backoff: BackoffPolicy;
}

export type ExitDecision =
  | { kind: 'stopped' }
  | { kind: 'retry-port' }
  | { kind: 'crash-loop'; consecutiveFailures: number }
  | { kind: 'restart'; consecutiveFailures: number; delayMs: number };

/**
 * What a replica's exit means, as kubelet decides for a pod's container: stopped on purpose,
 * a lost race for its port (retry at once on another), one crash too many (the proton errors),
 * or a restart after an exponential back-off. A long enough run forgives earlier crashes.
 */
export function decideExit(facts: ExitFacts, policy: ExitPolicy): ExitDecision {
  if (!facts.wanted) return { kind: 'stopped' };
  if (facts.exitCode === EXIT_PORT_IN_USE && !facts.everReadyThisRun && facts.portRetries < MAX_PORT_RETRIES) return { kind: 'retry-port' };
  const consecutiveFailures = facts.runMs >= policy.stableRunMs ? 1 : facts.consecutiveFailures + 1;
  if (consecutiveFailures > policy.maxRestarts) return { kind: 'crash-loop', consecutiveFailures };
  return { kind: 'restart', consecutiveFailures, delayMs: restartDelayMs(consecutiveFailures, policy.backoff) };
}
