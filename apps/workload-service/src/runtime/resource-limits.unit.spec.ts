import { cpuSecondsByGroup, enforcementOf, parseProcCpu, parseProcStat, rssByGroup } from './resource-limits';

// A real /proc/<pid>/stat layout: the command may hold spaces and ')'.
const stat = (pid: number, comm: string, pgrp: number, rssPages: number) =>
  `${pid} (${comm}) S 1 ${pgrp} ${pgrp} 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 11 0 12345 1000000000 ${rssPages} 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0`;

describe('parseProcStat', () => {
  it('reads the process group and resident pages after the parenthesised command', () => {
    expect(parseProcStat(stat(42, 'node', 40, 1234))).toEqual({ pgrp: 40, rssPages: 1234 });
    expect(parseProcStat(stat(42, 'a b) c', 7, 9))).toEqual({ pgrp: 7, rssPages: 9 });
  });

  it('refuses what is not a stat line', () => {
    expect(parseProcStat('garbage')).toBeNull();
    expect(parseProcStat('1 (x) S')).toBeNull();
  });
});

describe('rssByGroup', () => {
  it('sums resident bytes per watched group and ignores the others', () => {
    const lines = [stat(10, 'node', 10, 100), stat(11, 'sh', 10, 50), stat(20, 'node', 20, 7), stat(30, 'other', 30, 999), 'unreadable'];
    expect(rssByGroup(lines, new Set([10, 20]), 4096)).toEqual(new Map([[10, 150 * 4096], [20, 7 * 4096]]));
  });
});

describe('enforcementOf', () => {
  const none = { cgroups: null, cgroupDetail: 'cgroup v2: the memory controller is not delegated to /sys/fs/cgroup (offered: none)' };

  it('prefers cgroups: memory always, cpu when the cpu controller came with it', () => {
    expect(enforcementOf({ procReadable: true, watchdog: true, cgroups: { version: 'v2', cpu: true }, cgroupDetail: 'cgroup v2 at /sys/fs/cgroup/svc/wcp-1' })).toEqual({
      memory: 'cgroup-v2',
      cpu: 'cgroup-v2',
      detail: 'memory and cpu limited per replica by cgroup v2 at /sys/fs/cgroup/svc/wcp-1',
    });
    expect(enforcementOf({ procReadable: true, watchdog: true, cgroups: { version: 'v1', cpu: false }, cgroupDetail: 'cgroup v1 memory at /m' })).toMatchObject({ memory: 'cgroup-v1', cpu: 'reported-only' });
  });

  it('falls back to the RSS watchdog where /proc is readable, and says why cgroups are not used', () => {
    const report = enforcementOf({ procReadable: true, watchdog: true, ...none });
    expect(report).toMatchObject({ memory: 'rss-watchdog', cpu: 'reported-only' });
    expect(report.detail).toContain('not delegated');
  });

  it('enforces no memory limit without /proc, or when turned off, and says so', () => {
    expect(enforcementOf({ procReadable: false, watchdog: true, ...none })).toMatchObject({ memory: 'none', cpu: 'reported-only', detail: expect.stringContaining('not enforced') });
    expect(enforcementOf({ procReadable: true, watchdog: false, ...none })).toMatchObject({ memory: 'none', detail: expect.stringContaining('turned off') });
  });
});

describe('cpuSecondsByGroup', () => {
  // utime (field 14) and stime (field 15) are 1 and 2 ticks in `stat` above; set them here.
  const cpuStat = (pid: number, pgrp: number, utime: number, stime: number) =>
    `${pid} (node) S 1 ${pgrp} ${pgrp} 0 -1 4194560 100 0 0 0 ${utime} ${stime} 0 0 20 0 11 0 12345 1000000000 5 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0`;

  it('reads user + system ticks after the parenthesised command', () => {
    expect(parseProcCpu(cpuStat(3, 3, 150, 50))).toEqual({ pgrp: 3, cpuTicks: 200 });
    expect(parseProcCpu('garbage')).toBeNull();
  });

  it('sums seconds per watched group', () => {
    const sums = cpuSecondsByGroup([cpuStat(10, 10, 100, 0), cpuStat(11, 10, 50, 50), cpuStat(20, 20, 999, 0)], new Set([10]));
    expect([...sums]).toEqual([[10, 2]]);
  });
});
