import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { attachReplica, cgroupMountsOf, counterOf, cpuQuotaUs, ownGroupOf, probeCgroups, sweepStaleGroups } from './cgroup.enforcer';

// Real layouts: this development VM (v1 controllers + an empty unified mount) and a systemd host (v2 only).
const HYBRID_MOUNTINFO = [
  '25 20 0:22 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755',
  '26 25 0:23 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu',
  '27 25 0:24 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct',
  '28 25 0:25 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory',
  '29 25 0:26 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw',
].join('\n');
const HYBRID_CGROUP = '9:name=systemd:/\n4:memory:/process_api/abc\n2:cpuacct:/\n1:cpu:/\n0::/\n';
const V2_MOUNTINFO = '30 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot';
const V2_CGROUP = '0::/system.slice/wcp.service\n';

describe('parsing what the kernel says', () => {
  it('finds the unified mount and the v1 memory and cpu mounts', () => {
    expect(cgroupMountsOf(HYBRID_MOUNTINFO)).toEqual({ unified: '/sys/fs/cgroup/unified', v1: new Map([['cpu', '/sys/fs/cgroup/cpu'], ['memory', '/sys/fs/cgroup/memory']]) });
    expect(cgroupMountsOf(V2_MOUNTINFO)).toEqual({ unified: '/sys/fs/cgroup', v1: new Map() });
    // A combined v1 mount (cpu,cpuacct) serves cpu.
    expect(cgroupMountsOf('1 2 0:1 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct').v1.get('cpu')).toBe('/sys/fs/cgroup/cpu,cpuacct');
  });

  it('reads a process group path per controller', () => {
    expect(ownGroupOf(HYBRID_CGROUP, 'memory')).toBe('/process_api/abc');
    expect(ownGroupOf(HYBRID_CGROUP, 'cpu')).toBe('/');
    expect(ownGroupOf(HYBRID_CGROUP, 'unified')).toBe('/');
    expect(ownGroupOf('3:cpu,cpuacct:/x\n', 'cpu')).toBe('/x');
    expect(ownGroupOf(V2_CGROUP, 'memory')).toBeNull();
  });

  it('reads the oom_kill counter of memory.events (v2) and memory.oom_control (v1)', () => {
    expect(counterOf('low 0\nhigh 0\nmax 12\noom 1\noom_kill 1\noom_group_kill 0\n', 'oom_kill')).toBe(1);
    expect(counterOf('oom_kill_disable 0\nunder_oom 0\noom_kill 3\n', 'oom_kill')).toBe(3);
    expect(counterOf('oom_kill_disable 0\nunder_oom 0\n', 'oom_kill')).toBe(0);
  });

  it('turns a CPU allocation into a quota per 100 ms period, never under the kernel floor', () => {
    expect(cpuQuotaUs(0.25)).toBe(25_000);
    expect(cpuQuotaUs(2)).toBe(200_000);
    expect(cpuQuotaUs(0.001)).toBe(1000);
  });
});

describe('a delegated cgroup v2 tree (plain files standing in for cgroupfs)', () => {
  let root: string;
  const files = () => ({ mountinfo: join(root, 'mountinfo'), cgroup: join(root, 'cgroup'), prefix: root });
  const service = () => join(root, 'sys/fs/cgroup/system.slice/wcp.service');

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'wcp-cgroup-'));
    writeFileSync(join(root, 'mountinfo'), V2_MOUNTINFO);
    writeFileSync(join(root, 'cgroup'), V2_CGROUP);
    mkdirSync(service(), { recursive: true });
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('uses v2 when memory is delegated: a parent group per instance, controllers handed down, limits and the pid written', () => {
    writeFileSync(join(service(), 'cgroup.controllers'), 'cpu memory pids\n');
    const { layout, detail } = probeCgroups(4242, files());
    const parent = join(service(), 'wcp-4242');
    expect(layout).toEqual({ version: 'v2', memoryMount: join(root, '/sys/fs/cgroup'), memory: parent, cpu: parent });
    expect(detail).toBe(`cgroup v2 at ${parent}`);
    expect(readFileSync(join(service(), 'cgroup.subtree_control'), 'utf8')).toBe('+memory +cpu');
    expect(readFileSync(join(parent, 'cgroup.subtree_control'), 'utf8')).toBe('+memory +cpu');

    const group = attachReplica(layout!, 'p-0-1-abc', 777, { memoryBytes: 134217728, cpu: 0.5 });
    const dir = join(parent, 'p-0-1-abc');
    expect(group.paths).toEqual([dir]);
    expect(readFileSync(join(dir, 'memory.max'), 'utf8')).toBe('134217728');
    expect(readFileSync(join(dir, 'memory.swap.max'), 'utf8')).toBe('0');
    expect(readFileSync(join(dir, 'cpu.max'), 'utf8')).toBe('50000 100000');
    expect(readFileSync(join(dir, 'cgroup.procs'), 'utf8')).toBe('777');
    expect(group.oomKills()).toBe(0);
    writeFileSync(join(dir, 'memory.events'), 'oom 1\noom_kill 1\n');
    expect(group.oomKills()).toBe(1);
  });

  it('says why v2 is not used when the memory controller is not delegated (and there is no v1 to fall back to)', () => {
    writeFileSync(join(service(), 'cgroup.controllers'), 'cpu pids\n');
    expect(probeCgroups(1, files())).toEqual({ layout: null, detail: expect.stringMatching(/^cgroup v2: the memory controller is not delegated to .*wcp\.service \(offered: cpu pids\)$/) });
  });

  it('sweeps the empty groups of instances that are gone, and leaves live instances alone', () => {
    writeFileSync(join(service(), 'cgroup.controllers'), 'memory\n');
    const { layout } = probeCgroups(30, files());
    for (const group of ['wcp-10/old-replica', 'wcp-20/live-replica']) mkdirSync(join(service(), group), { recursive: true });
    expect(sweepStaleGroups(layout!, (pid) => pid === 20)).toBe(1);
    expect(() => readFileSync(join(service(), 'wcp-10'))).toThrow(/ENOENT/);
    expect(() => readFileSync(join(service(), 'wcp-20/live-replica'))).toThrow(/EISDIR/);
  });
});
