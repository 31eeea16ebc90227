import { readFileSync, readdirSync } from 'node:fs';

/**
 * Process helpers of the local runtime. Replicas run as leaders of their own process group
 * (spawned detached), so signalling `-pid` reaches everything a replica forked. Linux /proc
 * is how a restarted service recognises its leftovers: every replica carries marker
 * variables in its environment.
 */

/** Alive and not a zombie: a child whose parent died may linger as a zombie where PID 1 does not reap. */
export function isProcessAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 1) return false;
  try {
    process.kill(pid, 0);
  } catch (err) {
    // EPERM: it exists but belongs to someone else — alive, yet never ours.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 3 follows the parenthesised command, which may itself contain spaces or ')'.
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return true;
  }
}

/** Signal the process group led by `pid`, falling back to the pid alone. False when nothing was there. */
export function signalGroup(pid: number, signal: NodeJS.Signals): boolean {
  if (!Number.isInteger(pid) || pid <= 1) return false;
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    try {
      process.kill(pid, signal);
      return true;
    } catch {
      return false;
    }
  }
}

/** The environment of a process (Linux /proc), or null when unreadable (gone, not ours, no /proc). */
export function readProcessEnv(pid: number): Record<string, string> | null {
  let raw: string;
  try {
    raw = readFileSync(`/proc/${pid}/environ`, 'utf8');
  } catch {
    return null;
  }
  const env: Record<string, string> = {};
  for (const entry of raw.split('\0')) {
    const eq = entry.indexOf('=');
    if (eq > 0) env[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return env;
}

/** Pids of live processes whose environment has `name=value`. */
export function findProcessesWithEnv(name: string, value: string): Array<{ pid: number; env: Record<string, string> }> {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  const found: Array<{ pid: number; env: Record<string, string> }> = [];
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid) continue;
    const env = readProcessEnv(pid);
    if (env && env[name] === value && isProcessAlive(pid)) found.push({ pid, env });
  }
  return found;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls until `pid` is gone; true when it died within `timeoutMs`. */
export async function waitForExit(pid: number, timeoutMs: number, pollMs = 25): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isProcessAlive(pid)) {
    if (Date.now() >= deadline) return false;
    await sleep(pollMs);
  }
  return true;
}

/**
 * SIGTERM the group, SIGKILL after `graceMs`. Resolves 'terminated' (gone within the grace),
 * 'killed' (needed SIGKILL) or 'alive' (survived SIGKILL for `killWaitMs`).
 */
export async function terminateGroup(pid: number, graceMs: number, killWaitMs: number): Promise<'terminated' | 'killed' | 'alive'> {
  let outcome: 'terminated' | 'killed' = 'terminated';
  if (isProcessAlive(pid)) {
    signalGroup(pid, 'SIGTERM');
    if (!(await waitForExit(pid, graceMs))) {
      outcome = 'killed';
      signalGroup(pid, 'SIGKILL');
      if (!(await waitForExit(pid, killWaitMs))) return 'alive';
    }
  }
  // Anything the replica forked dies with it.
  signalGroup(pid, 'SIGKILL');
  return outcome;
}
