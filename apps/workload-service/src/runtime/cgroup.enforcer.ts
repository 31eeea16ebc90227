import { mkdirSync, readFileSync, readdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * Kernel limits per replica through cgroups: memory (the kernel's OOM killer stops a replica at
 * its page, and counts the kill) and CPU (CFS quota). One group per replica launch, under a
 * parent group of this driver inside the service's own cgroup, so limits nest under whatever the
 * operator gave the service and nothing outside it is touched.
 *
 * - cgroup v2 (unified): `memory.max`, `memory.swap.max`, `cpu.max`; kills in `memory.events`.
 *   Needs the memory controller delegated to the service's group (systemd `Delegate=yes`, a
 *   container with its own cgroup namespace). v2 allows controllers only in groups without
 *   processes, so a service alone in its group moves itself into a leaf first.
 * - cgroup v1 (one mount per controller): `memory.limit_in_bytes` (+ `memsw` so swap is no
 *   way out), `cpu.cfs_quota_us`; kills in `memory.oom_control`.
 *
 * The replica is moved in right after spawn: an exec'ed runtime has not run user code by then
 * (node takes tens of ms to boot), and everything it forks later is born inside the group.
 */

export type CgroupVersion = 'v2' | 'v1';

export interface CgroupLimits {
  memoryBytes: number | null;
  /** CPUs, fractional */
  cpu: number | null;
}

/** Where this driver's groups live; `cpu` null when the host offers no usable CPU controller. */
export interface CgroupLayout {
  version: CgroupVersion;
  /** The mount holding the memory controller: adopted replicas are found from their /proc/<pid>/cgroup path under it. */
  memoryMount: string;
  memory: string;
  cpu: string | null;
}

export interface ReplicaCgroup {
  readonly paths: string[];
  /** Kills by the kernel's OOM killer inside this replica's group so far. */
  oomKills(): number;
  /** Removes the (empty) groups; false when something still runs in them. */
  remove(): boolean;
}

const CPU_PERIOD_US = 100_000;

/** `cpu.max` / `cpu.cfs_quota_us` quota for a CPU allocation: at least 1 ms per period (the kernel's floor). */
export function cpuQuotaUs(cpu: number): number {
  return Math.max(1000, Math.round(cpu * CPU_PERIOD_US));
}

/** A counter line (`oom_kill 3`) of memory.events (v2) or memory.oom_control (v1); 0 when absent. */
export function counterOf(text: string, key: string): number {
  for (const line of text.split('\n')) {
    const [k, v] = line.trim().split(/\s+/);
    if (k === key && /^\d+$/.test(v ?? '')) return Number(v);
  }
  return 0;
}

/** The group path of a controller (`unified` for v2) in /proc/<pid>/cgroup text: `0::/x` for v2, `4:memory:/x` for v1. */
export function ownGroupOf(procCgroup: string, controller: string): string | null {
  for (const line of procCgroup.split('\n')) {
    // id:controllers:path — the path may itself hold ':'.
    const first = line.indexOf(':');
    const second = line.indexOf(':', first + 1);
    if (first < 0 || second < 0) continue;
    const id = line.slice(0, first);
    const controllers = line.slice(first + 1, second);
    if (controller === 'unified' ? id === '0' && controllers === '' : controllers.split(',').includes(controller)) return line.slice(second + 1);
  }
  return null;
}

/** Mount points by filesystem type and (v1) controller, from /proc/self/mountinfo text. */
export function cgroupMountsOf(mountinfo: string): { unified: string | null; v1: Map<string, string> } {
  let unified: string | null = null;
  const v1 = new Map<string, string>();
  for (const line of mountinfo.split('\n')) {
    const [left, right] = line.split(' - ');
    if (!left || !right) continue;
    const mountPoint = left.split(' ')[4];
    const [fsType, , superOptions = ''] = right.split(' ');
    if (fsType === 'cgroup2') unified ??= mountPoint;
    if (fsType === 'cgroup') for (const option of superOptions.split(',')) if (option === 'memory' || option === 'cpu') v1.set(option, mountPoint);
  }
  return { unified, v1 };
}

const read = (path: string) => readFileSync(path, 'utf8');
const controllersOf = (dir: string) => read(join(dir, 'cgroup.controllers')).split(/\s+/).filter(Boolean);

/**
 * Finds where this process may create replica groups, creating its parent group(s) on the way;
 * `{ layout: null, detail }` says why not (what /health shows). `root` is a test seam: a tree of
 * plain files standing in for /sys/fs/cgroup and /proc/self.
 */
export function probeCgroups(instance: number, root = { mountinfo: '/proc/self/mountinfo', cgroup: '/proc/self/cgroup', prefix: '' }): { layout: CgroupLayout | null; detail: string } {
  let mounts: ReturnType<typeof cgroupMountsOf>;
  let own: string;
  try {
    mounts = cgroupMountsOf(read(root.mountinfo));
    own = read(root.cgroup);
  } catch (err) {
    return { layout: null, detail: `no cgroup information (${(err as Error).message})` };
  }
  const reasons: string[] = [];
  if (mounts.unified) {
    const attempt = unifiedLayout(root.prefix + mounts.unified, ownGroupOf(own, 'unified'), instance);
    if ('layout' in attempt) return { layout: attempt.layout, detail: `cgroup v2 at ${attempt.layout.memory}` };
    reasons.push(`cgroup v2: ${attempt.reason}`);
  }
  const memoryMount = mounts.v1.get('memory');
  if (memoryMount) {
    const attempt = legacyLayout(root.prefix, memoryMount, mounts.v1.get('cpu') ?? null, own, instance);
    if ('layout' in attempt) return { layout: attempt.layout, detail: `cgroup v1 memory at ${attempt.layout.memory}${attempt.layout.cpu ? `, cpu at ${attempt.layout.cpu}` : ', no cpu controller'}` };
    reasons.push(`cgroup v1: ${attempt.reason}`);
  }
  return { layout: null, detail: reasons.length ? reasons.join('; ') : 'no cgroup mount' };
}

function unifiedLayout(mount: string, own: string | null, instance: number): { layout: CgroupLayout } | { reason: string } {
  if (own === null) return { reason: 'this process is in no unified group' };
  const base = join(mount, own);
  try {
    const offered = controllersOf(base);
    if (!offered.includes('memory')) return { reason: `the memory controller is not delegated to ${base} (offered: ${offered.join(' ') || 'none'})` };
    const wanted = ['memory', ...(offered.includes('cpu') ? ['cpu'] : [])];
    const parent = join(base, `wcp-${instance}`);
    enableControllers(base, wanted);
    mkdirSync(parent, { recursive: true });
    enableControllers(parent, wanted);
    return { layout: { version: 'v2', memoryMount: mount, memory: parent, cpu: wanted.includes('cpu') ? parent : null } };
  } catch (err) {
    return { reason: (err as Error).message };
  }
}

/** v2's "no internal processes": a group with members cannot hand controllers down, so a service alone in its group moves into a leaf. */
function enableControllers(dir: string, controllers: string[]): void {
  const line = controllers.map((c) => `+${c}`).join(' ');
  try {
    writeFileSync(join(dir, 'cgroup.subtree_control'), line);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EBUSY') throw err;
    const members = read(join(dir, 'cgroup.procs')).split(/\s+/).filter(Boolean);
    if (members.some((pid) => Number(pid) !== process.pid)) throw new Error(`${dir} holds other processes (${members.length}); give the service a group of its own`);
    const leaf = join(dir, 'wcp-service');
    mkdirSync(leaf, { recursive: true });
    writeFileSync(join(leaf, 'cgroup.procs'), String(process.pid));
    writeFileSync(join(dir, 'cgroup.subtree_control'), line);
  }
}

function legacyLayout(prefix: string, memoryMount: string, cpuMount: string | null, own: string, instance: number): { layout: CgroupLayout } | { reason: string } {
  const groupIn = (mount: string, controller: string) => {
    const path = ownGroupOf(own, controller);
    if (path === null) throw new Error(`this process is in no ${controller} group`);
    const parent = join(prefix + mount, path, `wcp-${instance}`);
    mkdirSync(parent, { recursive: true });
    return parent;
  };
  let memory: string;
  try {
    memory = groupIn(memoryMount, 'memory');
  } catch (err) {
    return { reason: (err as Error).message };
  }
  let cpu: string | null = null;
  try {
    if (cpuMount) cpu = groupIn(cpuMount, 'cpu');
  } catch {
    cpu = null;
  }
  return { layout: { version: 'v1', memoryMount: prefix + memoryMount, memory, cpu } };
}

/** Creates the groups of one replica launch, sets its limits and moves `pid` in. Throws when the kernel refuses. */
export function attachReplica(layout: CgroupLayout, name: string, pid: number, limits: CgroupLimits): ReplicaCgroup {
  const memoryDir = join(layout.memory, name);
  const cpuDir = layout.cpu === null ? null : layout.cpu === layout.memory ? memoryDir : join(layout.cpu, name);
  const created: string[] = [];
  const make = (dir: string) => {
    mkdirSync(dir, { recursive: true });
    if (!created.includes(dir)) created.push(dir);
  };
  make(memoryDir);
  if (cpuDir) make(cpuDir);
  if (layout.version === 'v2') {
    if (limits.memoryBytes !== null) {
      writeFileSync(join(memoryDir, 'memory.max'), String(limits.memoryBytes));
      writeOptional(join(memoryDir, 'memory.swap.max'), '0');
    }
    if (cpuDir && limits.cpu !== null) writeFileSync(join(cpuDir, 'cpu.max'), `${cpuQuotaUs(limits.cpu)} ${CPU_PERIOD_US}`);
    writeFileSync(join(memoryDir, 'cgroup.procs'), String(pid));
  } else {
    if (limits.memoryBytes !== null) {
      writeFileSync(join(memoryDir, 'memory.limit_in_bytes'), String(limits.memoryBytes));
      writeOptional(join(memoryDir, 'memory.memsw.limit_in_bytes'), String(limits.memoryBytes));
    }
    if (cpuDir && limits.cpu !== null) {
      writeFileSync(join(cpuDir, 'cpu.cfs_period_us'), String(CPU_PERIOD_US));
      writeFileSync(join(cpuDir, 'cpu.cfs_quota_us'), String(cpuQuotaUs(limits.cpu)));
    }
    for (const dir of created) writeFileSync(join(dir, 'cgroup.procs'), String(pid));
  }
  return groupsAt(layout.version, memoryDir, created);
}

/** The groups an adopted replica (found alive after a restart) already runs in, or null when it is in none of ours. */
export function locateReplica(layout: CgroupLayout, pid: number, procRoot = '/proc'): ReplicaCgroup | null {
  let text: string;
  try {
    text = read(`${procRoot}/${pid}/cgroup`);
  } catch {
    return null;
  }
  const memoryPath = ownGroupOf(text, layout.version === 'v2' ? 'unified' : 'memory');
  if (memoryPath === null || !/\/wcp-\d+\/[^/]+$/.test(memoryPath)) return null;
  const memoryDir = join(layout.memoryMount, memoryPath);
  return groupsAt(layout.version, memoryDir, [memoryDir]);
}

function groupsAt(version: CgroupVersion, memoryDir: string, dirs: string[]): ReplicaCgroup {
  return {
    paths: dirs,
    oomKills: () => {
      try {
        return counterOf(read(join(memoryDir, version === 'v2' ? 'memory.events' : 'memory.oom_control')), 'oom_kill');
      } catch {
        return 0;
      }
    },
    remove: () => dirs.every((dir) => removeGroup(dir)),
  };
}

function removeGroup(dir: string): boolean {
  try {
    rmdirSync(dir);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT';
  }
}

/**
 * Removes the replica groups, then the parent groups, that earlier boots of the service left
 * behind: only of instances whose process is gone (another instance on this host owns its own),
 * and only empty ones (the kernel refuses the rest: an adopted replica keeps its group).
 */
export function sweepStaleGroups(layout: CgroupLayout, alive: (pid: number) => boolean): number {
  let removed = 0;
  for (const parent of new Set([layout.memory, layout.cpu].filter((d): d is string => d !== null))) {
    const base = dirname(parent);
    let stale: string[];
    try {
      stale = readdirSync(base).filter((d) => /^wcp-\d+$/.test(d) && join(base, d) !== parent && !alive(Number(d.slice(4))));
    } catch {
      continue;
    }
    for (const group of stale) {
      const dir = join(base, group);
      try {
        for (const child of readdirSync(dir, { withFileTypes: true })) if (child.isDirectory() && removeGroup(join(dir, child.name))) removed++;
      } catch {
        continue;
      }
      removeGroup(dir);
    }
  }
  return removed;
}

/** Removes this driver's parent groups when they are empty (the kernel refuses otherwise). */
export function removeParentGroups(layout: CgroupLayout): void {
  for (const dir of new Set([layout.memory, layout.cpu])) if (dir) removeGroup(dir);
}

function writeOptional(path: string, value: string): void {
  try {
    writeFileSync(path, value);
  } catch (err) {
    // Without swap accounting the file is absent (v1 memsw, v2 swap.max): nothing to close off.
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT' && (err as NodeJS.ErrnoException).code !== 'EACCES') throw err;
  }
}
