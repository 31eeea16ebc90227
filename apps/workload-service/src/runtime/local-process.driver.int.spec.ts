import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Container } from '@wcp/contracts';
import { cgroupMountsOf, ownGroupOf } from './cgroup.enforcer';
import { LocalProcessDriver, type LocalProcessDriverOptions } from './local-process.driver';
import { findProcessesWithEnv, isProcessAlive, signalGroup, waitForExit } from './process-group';
import type { ProtonSpec, RuntimeEvent } from './runtime-driver';

// Short timings: a probe "second" is 100 ms, back-off starts at 100 ms.
function options(stateDir: string, over: Partial<LocalProcessDriverOptions> = {}): LocalProcessDriverOptions {
  return {
    stateDir,
    probeSecondMs: 100,
    defaultReadiness: { periodMs: 100, timeoutMs: 500, failureThreshold: 2 },
    restartBackoff: { initialMs: 100, maxMs: 400 },
    maxRestarts: 2,
    stableRunMs: 5000,
    readyTimeoutMs: 4000,
    pidPollMs: 100,
    restartGraceMs: 500,
    killWaitMs: 1000,
    ...over,
  };
}

function container(imageUri: string, over: Partial<Container> = {}): Container {
  return {
    name: 'main',
    primary: true,
    imageUri,
    port: 8080,
    entrypoint: [],
    environmentVars: [],
    readinessProbe: { path: '/healthz', initialDelaySeconds: 0, periodSeconds: 1, timeoutSeconds: 5, failureThreshold: 2, successThreshold: 1 },
    livenessProbe: null,
    startupProbe: null,
    ...over,
  };
}

let seq = 0;
function spec(imageUri: string, replicas: number, over: Partial<Container> = {}): ProtonSpec {
  seq += 1;
  const id = `${Date.now().toString(16)}${String(seq).padStart(4, '0')}`.padEnd(24, '0').slice(0, 24);
  return { protonId: id, workloadId: 'w'.repeat(24), replicas, containers: [container(imageUri, over)] };
}

const dirs: string[] = [];
const drivers: LocalProcessDriver[] = [];
const hosts: ChildProcess[] = [];

/** The memory and cpu group directories a process runs in, from the kernel's view (/proc). */
function replicaGroups(pid: number): { memory: string; cpu: string } {
  const mounts = cgroupMountsOf(readFileSync('/proc/self/mountinfo', 'utf8'));
  const own = readFileSync(`/proc/${pid}/cgroup`, 'utf8');
  const memoryMount = mounts.v1.get('memory');
  if (memoryMount) return { memory: join(memoryMount, ownGroupOf(own, 'memory') ?? ''), cpu: join(mounts.v1.get('cpu') ?? '', ownGroupOf(own, 'cpu') ?? '') };
  const unified = join(mounts.unified ?? '', ownGroupOf(own, 'unified') ?? '');
  return { memory: unified, cpu: unified };
}

function newDriver(over: Partial<LocalProcessDriverOptions> = {}, stateDir?: string): { driver: LocalProcessDriver; stateDir: string; events: RuntimeEvent[] } {
  const dir = stateDir ?? mkdtempSync(join(tmpdir(), 'wcp-runtime-'));
  if (!stateDir) dirs.push(dir);
  const driver = new LocalProcessDriver(options(dir, over));
  drivers.push(driver);
  const events: RuntimeEvent[] = [];
  driver.onEvent((e) => events.push(e));
  return { driver, stateDir: dir, events };
}

function waitFor<E extends RuntimeEvent>(driver: LocalProcessDriver, match: (e: RuntimeEvent) => e is E, timeoutMs?: number): Promise<E>;
function waitFor(driver: LocalProcessDriver, match: (e: RuntimeEvent) => boolean, timeoutMs?: number): Promise<RuntimeEvent>;
function waitFor(driver: LocalProcessDriver, match: (e: RuntimeEvent) => boolean, timeoutMs = 8000): Promise<RuntimeEvent> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error('timed out waiting for a runtime event'));
    }, timeoutMs);
    const off = driver.onEvent((e) => {
      if (!match(e)) return;
      clearTimeout(timer);
      off();
      resolve(e);
    });
  });
}

const is = <T extends RuntimeEvent['type']>(type: T, protonId: string) => (e: RuntimeEvent): e is Extract<RuntimeEvent, { type: T }> => e.type === type && e.protonId === protonId;

function post(url: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const payload = JSON.stringify(body);
    const req = request(url, { method: 'POST', agent: false, headers: { 'content-type': 'application/json' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(Buffer.concat(chunks).toString('utf8')) }));
    });
    req.on('error', reject);
    req.end(payload);
  });
}

function recordedPids(stateDir: string, protonId?: string): number[] {
  const file = join(stateDir, 'replicas.json');
  if (!existsSync(file)) return [];
  const state = JSON.parse(readFileSync(file, 'utf8')) as { replicas: Array<{ pid: number; protonId: string; replica: string }> };
  return state.replicas.filter((r) => !protonId || r.protonId === protonId).sort((a, b) => a.replica.localeCompare(b.replica)).map((r) => r.pid);
}

function markedPids(stateDir: string): number[] {
  return findProcessesWithEnv('WCP_RUNTIME_DIR', stateDir).map((p) => p.pid);
}

afterAll(async () => {
  for (const d of drivers) await d.shutdown({ stopReplicas: true, graceMs: 200 }).catch(() => undefined);
  for (const h of hosts) if (h.pid && isProcessAlive(h.pid)) h.kill('SIGKILL');
  // Belt and braces: nothing a test started may outlive the suite.
  for (const dir of dirs) {
    for (const pid of markedPids(dir)) signalGroup(pid, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

describe('LocalProcessDriver', () => {
  // 127.0.0.2 is loopback too on Linux (127.0.0.0/8), but not the address the service itself uses:
  // a replica that ignored HOST and bound 127.0.0.1 would refuse the advertised URL.
  it('binds replicas to the bind host and advertises the advertise host in their URLs', async () => {
    const { driver } = newDriver({ bindHost: '127.0.0.2', advertiseHost: 'localhost' });
    const s = spec('local/echo-model:1', 1);
    const running = waitFor(driver, is('ProtonRunning', s.protonId));
    await driver.ensureRunning(s);
    await running;
    const [endpoint] = driver.readyEndpoints(s.protonId);
    const port = Number(new URL(endpoint.url).port);
    expect(endpoint).toEqual({ replica: `${s.protonId}-0`, address: `localhost:${port}`, url: `http://localhost:${port}` });
    expect(driver.snapshot(s.protonId)?.replicas[0]).toMatchObject({ address: `localhost:${port}` });
    expect((await post(`http://127.0.0.2:${port}/predict`, { a: 1 })).status).toBe(200);
    await expect(post(`http://127.0.0.1:${port}/predict`, { a: 1 })).rejects.toThrow(/ECONNREFUSED/);
    expect((await driver.stop(s.protonId, { graceMs: 1000 })).stopped).toBe(true);
  });

  it('refuses a wildcard bind without an advertise host (its URLs would be unusable)', () => {
    expect(() => newDriver({ bindHost: '0.0.0.0' })).toThrow(/advertise host/);
  });

  it('runs echo-model replicas that answer, restarts a killed one, and stops with grace', async () => {
    const { driver, stateDir, events } = newDriver();
    const s = spec('local/echo-model:1', 2);
    expect(driver.snapshot(s.protonId)).toBeNull();
    const running = waitFor(driver, is('ProtonRunning', s.protonId));
    await driver.ensureRunning(s);
    await running;

    const endpoints = driver.readyEndpoints(s.protonId);
    expect(endpoints.map((e) => e.replica)).toEqual([`${s.protonId}-0`, `${s.protonId}-1`]);
    for (const ep of endpoints) {
      const res = await post(`${ep.url}/predict?x=1`, { input: [1, 2] });
      expect(res).toEqual({ status: 200, json: { ok: true, replica: ep.replica, path: '/predict', body: { input: [1, 2] } } });
    }
    const snap = driver.snapshot(s.protonId);
    expect(snap?.overallStatus).toMatchObject({ state: 'running', summary: '2/2 replicas ready' });
    expect(snap?.replicas[0].conditions.every((c) => c.value)).toBe(true);
    expect(snap?.replicas[0].containers[0]).toMatchObject({ name: 'main', status: 'running', ready: true, restartCount: 0, image: 'local/echo-model:1' });
    for (const stream of ['stdout', 'stderr']) expect(existsSync(join(stateDir, 'logs', `${s.protonId}-0.${stream}.log`))).toBe(true);
    // Bodies are streamed: a large one is drained, not echoed, and the replica stays up.
    const big = await post(`${endpoints[0].url}/big?status=201`, { blob: 'x'.repeat(3 * 1024 * 1024) });
    expect(big).toEqual({ status: 201, json: { ok: true, replica: endpoints[0].replica, path: '/big', body: null } });

    // Idempotent: a second ensureRunning starts nothing.
    const pids = recordedPids(stateDir, s.protonId);
    expect(pids).toHaveLength(2);
    const startedBefore = events.filter((e) => e.type === 'ReplicaStarted').length;
    await driver.ensureRunning(s);
    expect(events.filter((e) => e.type === 'ReplicaStarted')).toHaveLength(startedBefore);
    expect(recordedPids(stateDir, s.protonId)).toEqual(pids);

    // kill -9 one replica: restarted once, with the kill as its last state.
    const restarted = waitFor(driver, is('ReplicaRestarted', s.protonId));
    process.kill(pids[0], 'SIGKILL');
    expect(await restarted).toMatchObject({ replica: `${s.protonId}-0`, restartCount: 1, reason: 'Killed', exitCode: 137, signal: 'SIGKILL' });
    await waitFor(driver, (e) => e.type === 'ReplicaReady' && e.protonId === s.protonId && e.replica === `${s.protonId}-0`);
    const c0 = driver.snapshot(s.protonId)?.replicas[0].containers[0];
    expect(c0).toMatchObject({ status: 'running', ready: true, restartCount: 1, lastState: { status: 'terminated', reason: 'Killed', exitCode: 137 } });
    const newPids = recordedPids(stateDir, s.protonId);
    expect(newPids[0]).not.toBe(pids[0]);
    expect(newPids[1]).toBe(pids[1]);

    const stopped = waitFor(driver, is('ProtonStopped', s.protonId));
    expect(await driver.stop(s.protonId, { graceMs: 2000 })).toEqual({ stopped: true });
    await stopped;
    for (const pid of newPids) expect(isProcessAlive(pid)).toBe(false);
    expect(driver.readyEndpoints(s.protonId)).toEqual([]);
    const after = driver.snapshot(s.protonId);
    expect(after?.overallStatus.state).toBe('stopped');
    expect(after?.replicas[0].containers[0]).toMatchObject({ status: 'terminated', reason: 'Completed', exitCode: 0 });
    expect(await driver.stop(s.protonId, { graceMs: 100 })).toEqual({ stopped: true, detail: 'already stopped' });
    expect(recordedPids(stateDir, s.protonId)).toEqual([]);
  });

  it('scales up and down without touching the replicas that stay', async () => {
    const { driver, stateDir } = newDriver();
    const s = spec('local/echo-model:1', 1, { readinessProbe: null });
    const running = waitFor(driver, is('ProtonRunning', s.protonId));
    await driver.ensureRunning(s);
    await running;
    const [first] = recordedPids(stateDir, s.protonId);
    // A running proton that scales up stays running (its new replica is joining): wait for that replica.
    const joined = waitFor(driver, (e): e is Extract<RuntimeEvent, { type: 'ReplicaReady' }> => is('ReplicaReady', s.protonId)(e) && e.replica === `${s.protonId}-1`);
    await driver.ensureRunning({ ...s, replicas: 2 });
    await joined;
    expect(driver.snapshot(s.protonId)?.overallStatus.state).toBe('running');
    const two = recordedPids(stateDir, s.protonId);
    expect(two).toHaveLength(2);
    expect(two[0]).toBe(first);
    await driver.ensureRunning({ ...s, replicas: 1 });
    expect(recordedPids(stateDir, s.protonId)).toEqual([first]);
    expect(isProcessAlive(two[1])).toBe(false);
    expect(driver.readyEndpoints(s.protonId).map((e) => e.replica)).toEqual([`${s.protonId}-0`]);
    expect(driver.snapshot(s.protonId)?.overallStatus.state).toBe('running');
    expect((await driver.stop(s.protonId, { graceMs: 1000 })).stopped).toBe(true);
  });

  it('SIGKILLs a replica that does not exit within the grace period', async () => {
    const { driver, stateDir } = newDriver();
    const s = spec('local/echo-model:1', 1, { environmentVars: [{ name: 'ECHO_DRAIN_MS', value: '30000' }] });
    const running = waitFor(driver, is('ProtonRunning', s.protonId));
    await driver.ensureRunning(s);
    await running;
    const [pid] = recordedPids(stateDir, s.protonId);
    const t0 = Date.now();
    expect(await driver.stop(s.protonId, { graceMs: 300 })).toEqual({ stopped: true });
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(isProcessAlive(pid)).toBe(false);
    expect(driver.snapshot(s.protonId)?.replicas[0].containers[0]).toMatchObject({ status: 'terminated', reason: 'Killed', exitCode: 137 });
  });

  it('errors a proton that never becomes ready, and kills its replicas', async () => {
    const { driver, stateDir } = newDriver({ readyTimeoutMs: 1500 });
    const s = spec('local/never-ready:1', 1);
    const errored = waitFor(driver, is('ProtonErrored', s.protonId));
    await driver.ensureRunning(s);
    const [pid] = recordedPids(stateDir, s.protonId);
    expect((await errored).reason).toMatch(/did not become ready within 1\.5 s \(last probe: readiness GET \/healthz → 503\)/);
    expect(await waitForExit(pid, 3000)).toBe(true);
    // The process is gone; the driver records its exit on its next turn of the event loop (late under load).
    for (let i = 0; i < 60 && driver.snapshot(s.protonId)?.replicas[0].containers[0].status !== 'terminated'; i++) await new Promise((r) => setTimeout(r, 50));
    const snap = driver.snapshot(s.protonId);
    expect(snap?.overallStatus.state).toBe('errored');
    expect(snap?.replicas[0]).toMatchObject({ status: 'failed' });
    await driver.stop(s.protonId, { graceMs: 100 });
    expect(snap?.replicas[0].containers[0]).toMatchObject({ status: 'terminated', reason: 'ReadinessTimeout' });
  });

  it('restarts on liveness failure', async () => {
    const { driver, stateDir } = newDriver();
    const s = spec('local/never-ready:1', 1, {
      livenessProbe: { path: '/healthz', initialDelaySeconds: 0, periodSeconds: 1, timeoutSeconds: 5, failureThreshold: 2, successThreshold: 1 },
    });
    const restarted = waitFor(driver, is('ReplicaRestarted', s.protonId));
    await driver.ensureRunning(s);
    const [pid] = recordedPids(stateDir, s.protonId);
    expect(await restarted).toMatchObject({ restartCount: 1, reason: 'LivenessProbeFailed', exitCode: 0 });
    expect(isProcessAlive(pid)).toBe(false);
    expect((await driver.stop(s.protonId, { graceMs: 500 })).stopped).toBe(true);
  });

  it('gates readiness on the startup probe and restarts when it fails', async () => {
    const { driver } = newDriver();
    const startupProbe = { path: '/healthz', initialDelaySeconds: 0, periodSeconds: 1, timeoutSeconds: 5, failureThreshold: 2, successThreshold: 1 };
    const ok = spec('local/echo-model:1', 1, { startupProbe });
    const running = waitFor(driver, is('ProtonRunning', ok.protonId));
    await driver.ensureRunning(ok);
    await running;
    const bad = spec('local/never-ready:1', 1, { startupProbe });
    const restarted = waitFor(driver, is('ReplicaRestarted', bad.protonId));
    await driver.ensureRunning(bad);
    expect(await restarted).toMatchObject({ restartCount: 1, reason: 'StartupProbeFailed', message: expect.stringMatching(/503/) });
    expect(driver.snapshot(bad.protonId)?.overallStatus.state).toBe('launching');
    await Promise.all([driver.stop(ok.protonId, { graceMs: 500 }), driver.stop(bad.protonId, { graceMs: 500 })]);
  });

  it('errors a crash-looping proton after maxRestarts', async () => {
    const { driver, events } = newDriver();
    const s = spec('local/crash-loop:1', 1, { environmentVars: [{ name: 'CRASH_AFTER_MS', value: '50' }], readinessProbe: null });
    const errored = waitFor(driver, is('ProtonErrored', s.protonId), 15000);
    await driver.ensureRunning(s);
    expect((await errored).reason).toMatch(/crash-looping: 3 failed runs in a row \(last: Error, exit code 1\)/);
    const restarts = events.filter((e) => e.type === 'ReplicaRestarted' && e.protonId === s.protonId);
    expect(restarts.map((e) => (e.type === 'ReplicaRestarted' ? e.restartCount : 0))).toEqual([1, 2]);
    const c = driver.snapshot(s.protonId)?.replicas[0].containers[0];
    expect(c).toMatchObject({ status: 'terminated', exitCode: 1, restartCount: 2, lastState: { status: 'terminated', exitCode: 1 } });
  });

  // Both mechanisms where the host has them: the kernel's (cgroups, `auto`) and the watchdog's (`off`).
  it.each(['auto', 'off'] as const)('kills a replica that allocates past its memory limit as OOMKilled (137) and restarts it with back-off (cgroups %s)', async (cgroups) => {
    const { driver } = newDriver({ memoryPollMs: 50, cgroups });
    const s: ProtonSpec = {
      ...spec('local/memory-hog:1', 1, { environmentVars: [{ name: 'ALLOC_MB', value: '512' }, { name: 'ALLOC_AFTER_MS', value: '200' }], readinessProbe: null }),
      resources: { cpu: 1, memoryBytes: 128 * 1024 ** 2 },
    };
    if (driver.enforcement.memory === 'none') {
      // A host without /proc enforces nothing, and must say so rather than pretend.
      expect(driver.enforcement.detail).toMatch(/not enforced/);
      return;
    }
    const byKernel = driver.enforcement.memory.startsWith('cgroup-');
    if (cgroups === 'off') expect(driver.enforcement).toMatchObject({ memory: 'rss-watchdog', cpu: 'reported-only', detail: expect.stringContaining('RUNTIME_CGROUPS=off') });
    const restarted = waitFor(driver, (e) => e.type === 'ReplicaRestarted' && e.protonId === s.protonId, 15000);
    await driver.ensureRunning(s);
    expect(await restarted).toMatchObject({
      reason: 'OOMKilled',
      exitCode: 137,
      signal: 'SIGKILL',
      restartCount: 1,
      message: byKernel ? expect.stringMatching(/OOM killer at the memory limit of 134217728 bytes/) : expect.stringMatching(/exceeded the limit of 134217728 bytes/),
    });
    const c = driver.snapshot(s.protonId)?.replicas[0].containers[0];
    expect(c).toMatchObject({ restartCount: 1, lastState: { status: 'terminated', reason: 'OOMKilled', exitCode: 137 } });
    // The restart comes after the back-off: a new process runs again.
    await waitFor(driver, is('ReplicaStarted', s.protonId), 15000);
    expect((await driver.stop(s.protonId, { graceMs: 500 })).stopped).toBe(true);
  });

  it('limits CPU to the allocation through the cgroup cpu controller, or says it only reports CPU', async () => {
    const { driver } = newDriver();
    const s: ProtonSpec = {
      ...spec('local/memory-hog:1', 1, { environmentVars: [{ name: 'ALLOC_MB', value: '0' }, { name: 'SPIN_MS', value: '1500' }], readinessProbe: null }),
      resources: { cpu: 0.2, memoryBytes: 256 * 1024 ** 2 },
    };
    if (driver.enforcement.cpu === 'reported-only') {
      expect(driver.enforcement.detail).toMatch(/cpu reported only|no cpu/);
      return;
    }
    const started = waitFor(driver, is('ReplicaStarted', s.protonId));
    await driver.ensureRunning(s);
    const { pid } = await started;
    const groups = replicaGroups(pid);
    const v2 = driver.enforcement.cpu === 'cgroup-v2';
    expect(readFileSync(join(groups.cpu, v2 ? 'cpu.max' : 'cpu.cfs_quota_us'), 'utf8').trim()).toBe(v2 ? '20000 100000' : '20000');
    expect(readFileSync(join(groups.memory, v2 ? 'memory.max' : 'memory.limit_in_bytes'), 'utf8').trim()).toBe(String(256 * 1024 ** 2));
    // Spinning one CPU under a fifth of one, it is throttled in (nearly) every period.
    await new Promise((r) => setTimeout(r, 1500));
    const stat = readFileSync(join(groups.cpu, 'cpu.stat'), 'utf8');
    expect(Number(/nr_throttled (\d+)/.exec(stat)?.[1])).toBeGreaterThan(0);
    expect((await driver.stop(s.protonId, { graceMs: 500 })).stopped).toBe(true);
    // The replica's groups go with it.
    expect(existsSync(groups.cpu)).toBe(false);
    expect(existsSync(groups.memory)).toBe(false);
  });

  it('errors at once on an image outside the catalog', async () => {
    const { driver } = newDriver();
    const s = spec('local/nope:1', 1);
    const errored = waitFor(driver, is('ProtonErrored', s.protonId));
    await driver.ensureRunning(s);
    expect((await errored).reason).toMatch(/not in the local image catalog/);
    expect(driver.snapshot(s.protonId)?.replicas[0].containers[0]).toMatchObject({ status: 'waiting', reason: 'ErrImageNotFound' });
  });

  it('after a crash of the service, adopts replicas of desired protons and kills the others', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'wcp-runtime-'));
    dirs.push(stateDir);
    const s = spec('local/echo-model:1', 2);

    async function crashedHost(): Promise<number[]> {
      const host = spawn(process.execPath, [join(__dirname, 'crash-host.fixture.js'), JSON.stringify({ options: options(stateDir), spec: s })], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      hosts.push(host);
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('host did not report running')), 15000);
        host.stdout?.on('data', (chunk: Buffer) => {
          if (chunk.toString().includes('ProtonRunning')) {
            clearTimeout(timer);
            resolve();
          }
        });
      });
      const pids = recordedPids(stateDir, s.protonId);
      host.kill('SIGKILL');
      await new Promise((resolve) => host.once('exit', resolve));
      expect(pids).toHaveLength(2);
      for (const pid of pids) expect(isProcessAlive(pid)).toBe(true);
      return pids;
    }

    // Desired: adopted with the same pids, nothing started twice.
    const pids = await crashedHost();
    const b = newDriver({}, stateDir);
    const ready = new Set<string>();
    const bothReady = new Promise<void>((resolve) => {
      b.driver.onEvent((e) => {
        if (e.type === 'ReplicaReady' && e.protonId === s.protonId) ready.add(e.replica);
        if (ready.size === 2) resolve();
      });
    });
    await b.driver.recover([s]);
    const started = b.events.filter((e) => e.type === 'ReplicaStarted');
    expect(started.map((e) => e.type === 'ReplicaStarted' && e.adopted)).toEqual([true, true]);
    expect(started.map((e) => (e.type === 'ReplicaStarted' ? e.pid : 0)).sort()).toEqual([...pids].sort());
    await bothReady;
    expect(b.driver.readyEndpoints(s.protonId)).toHaveLength(2);
    expect(markedPids(stateDir).sort()).toEqual([...pids].sort());
    expect(b.driver.snapshot(s.protonId)?.overallStatus.state).toBe('running');

    // An adopted replica is not our child: its death is noticed by polling, and it is replaced.
    const restarted = waitFor(b.driver, is('ReplicaRestarted', s.protonId));
    process.kill(pids[1], 'SIGKILL');
    expect(await restarted).toMatchObject({ replica: `${s.protonId}-1`, restartCount: 1, reason: 'Unknown', exitCode: null });
    await waitFor(b.driver, (e) => e.type === 'ReplicaReady' && e.replica === `${s.protonId}-1`);
    const live = recordedPids(stateDir, s.protonId);
    expect(live[0]).toBe(pids[0]);
    expect(await b.driver.stop(s.protonId, { graceMs: 1000 })).toEqual({ stopped: true });
    expect(b.driver.snapshot(s.protonId)?.replicas[0]).toMatchObject({ status: 'succeeded', containers: [{ status: 'terminated', reason: 'Completed' }] });
    for (const pid of [...pids, ...live]) expect(isProcessAlive(pid)).toBe(false);
    await b.driver.shutdown({ stopReplicas: false });

    // Not desired: leftovers are killed.
    const pids2 = await crashedHost();
    const c = newDriver({}, stateDir);
    await c.driver.recover([]);
    for (const pid of pids2) expect(isProcessAlive(pid)).toBe(false);
    expect(markedPids(stateDir)).toEqual([]);
    expect(recordedPids(stateDir)).toEqual([]);
    expect(c.driver.snapshot(s.protonId)).toBeNull();
  });
});
