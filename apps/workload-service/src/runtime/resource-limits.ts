import { readFileSync, readdirSync } from 'node:fs';

/**
 * Resource enforcement of the local runtime, probed once at boot (docs/resources.md).
 *
 * Memory, in order of preference:
 * - cgroups (cgroup.enforcer.ts): the kernel limits each replica at the page and its OOM
 *   killer counts the kill, so `OOMKilled` is exact; v2 where the memory controller is
 *   delegated to the service, else v1 where a memory hierarchy is writable.
 * - an RSS watchdog: every `pollMs` it sums the resident set of each replica's process group
 *   from /proc and SIGKILLs a group over its limit. Works without privileges; a burst faster
 *   than one poll may overshoot briefly.
 * - nothing, said so, where neither is available.
 * Not RLIMIT_AS (prlimit): it limits address space, not memory. V8 reserves large virtual
 * ranges at start, so a limit near the requested memory kills Node before it serves, one far
 * above it enforces nothing, and the death is SIGABRT/exit 134, not classifiable as OOM.
 *
 * CPU: the cgroup cpu controller's CFS quota where there is one, else reported only.
 */

export type MemoryEnforcement = 'cgroup-v2' | 'cgroup-v1' | 'rss-watchdog' | 'none';
export type CpuEnforcement = 'cgroup-v2' | 'cgroup-v1' | 'reported-only';

export interface EnforcementReport {
  memory: MemoryEnforcement;
  cpu: CpuEnforcement;
  /** What the probe saw, for operators: which mechanism, and why a better one is not used. */
  detail: string;
}

/** The process group and resident pages of one /proc/<pid>/stat line, or null when unparsable. */
export function parseProcStat(text: string): { pgrp: number; rssPages: number } | null {
  // The command (field 2) is parenthesised and may contain spaces or ')': split after the last ')'.
  const close = text.lastIndexOf(')');
  if (close < 0) return null;
  const fields = text.slice(close + 2).trim().split(/\s+/);
  // fields[0] is field 3 (state): pgrp is field 5, rss (pages) field 24.
  const pgrp = Number(fields[2]);
  const rssPages = Number(fields[21]);
  return Number.isInteger(pgrp) && Number.isInteger(rssPages) ? { pgrp, rssPages } : null;
}

/**
 * Decides the enforcement from what the host offers (pure; the driver reads the facts).
 * `cgroups` is the probe's layout (null: none usable, `cgroupDetail` says why).
 */
export function enforcementOf(facts: { procReadable: boolean; cgroups: { version: 'v2' | 'v1'; cpu: boolean } | null; cgroupDetail: string; watchdog: boolean }): EnforcementReport {
  if (facts.cgroups) {
    const version = facts.cgroups.version;
    const cpu = facts.cgroups.cpu ? (`cgroup-${version}` as const) : 'reported-only';
    return { memory: `cgroup-${version}`, cpu, detail: `memory and ${cpu === 'reported-only' ? 'no cpu (reported only)' : 'cpu'} limited per replica by ${facts.cgroupDetail}` };
  }
  const why = `cgroups not used: ${facts.cgroupDetail}`;
  if (!facts.watchdog) return { memory: 'none', cpu: 'reported-only', detail: `memory enforcement turned off; cpu reported only; ${why}` };
  if (!facts.procReadable) return { memory: 'none', cpu: 'reported-only', detail: `no readable /proc: memory limits are not enforced; cpu reported only; ${why}` };
  return { memory: 'rss-watchdog', cpu: 'reported-only', detail: `memory: per-replica RSS watchdog over /proc; cpu: reported only; ${why}` };
}

/** Whether /proc/<pid>/stat of this process is readable and parsable (the watchdog's and CPU sampling's source). */
export function procReadable(): boolean {
  try {
    return parseProcStat(readFileSync(`/proc/${process.pid}/stat`, 'utf8')) !== null;
  } catch {
    return false;
  }
}

/** Resident bytes per process group, for the groups in `pgids`, from stat lines. */
export function rssByGroup(stats: Iterable<string>, pgids: ReadonlySet<number>, pageBytes: number): Map<number, number> {
  const sums = new Map<number, number>();
  for (const text of stats) {
    const stat = parseProcStat(text);
    if (!stat || !pgids.has(stat.pgrp)) continue;
    sums.set(stat.pgrp, (sums.get(stat.pgrp) ?? 0) + stat.rssPages * pageBytes);
  }
  return sums;
}

/** Clock ticks per second of /proc's utime and stime (USER_HZ, 100 on every Linux ABI in use). */
export const CLOCK_TICKS_PER_SECOND = 100;

/** The process group and CPU time (user + system, clock ticks) of one /proc/<pid>/stat line, or null. */
export function parseProcCpu(text: string): { pgrp: number; cpuTicks: number } | null {
  const close = text.lastIndexOf(')');
  if (close < 0) return null;
  const fields = text.slice(close + 2).trim().split(/\s+/);
  // fields[0] is field 3: pgrp is field 5, utime field 14, stime field 15.
  const pgrp = Number(fields[2]);
  const cpuTicks = Number(fields[11]) + Number(fields[12]);
  return Number.isInteger(pgrp) && Number.isFinite(cpuTicks) ? { pgrp, cpuTicks } : null;
}

/** CPU seconds used so far per process group, for the groups in `pgids` (processes alive now). */
export function cpuSecondsByGroup(stats: Iterable<string>, pgids: ReadonlySet<number>): Map<number, number> {
  const sums = new Map<number, number>();
  for (const text of stats) {
    const stat = parseProcCpu(text);
    if (!stat || !pgids.has(stat.pgrp)) continue;
    sums.set(stat.pgrp, (sums.get(stat.pgrp) ?? 0) + stat.cpuTicks / CLOCK_TICKS_PER_SECOND);
  }
  return sums;
}

interface Watch {
  limitBytes: number;
  onExceeded: (rssBytes: number) => void;
}

/**
 * One timer for every watched replica: each tick reads /proc once and calls `onExceeded` (once)
 * for a group whose resident memory is above its limit. The caller kills the group.
 */
export class MemoryWatchdog {
  private readonly watches = new Map<number, Watch>();
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly pollMs: number, private readonly pageBytes = 4096) {}

  /** Watch the group led by `pgid`; returns the function that stops watching it. */
  watch(pgid: number, limitBytes: number, onExceeded: (rssBytes: number) => void): () => void {
    const entry: Watch = { limitBytes, onExceeded };
    this.watches.set(pgid, entry);
    this.timer ??= setInterval(() => this.tick(), this.pollMs).unref();
    return () => {
      if (this.watches.get(pgid) === entry) this.watches.delete(pgid);
      if (this.watches.size === 0) this.close();
    };
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private tick(): void {
    const sums = rssByGroup(readStats(), new Set(this.watches.keys()), this.pageBytes);
    for (const [pgid, rss] of sums) {
      const w = this.watches.get(pgid);
      if (!w || rss <= w.limitBytes) continue;
      this.watches.delete(pgid);
      w.onExceeded(rss);
    }
  }
}

/** Every /proc/<pid>/stat line readable now. */
export function* readStats(): Generator<string> {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      yield readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      // exited between readdir and read
    }
  }
}
