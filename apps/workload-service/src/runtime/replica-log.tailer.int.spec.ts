import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { LogBatch, MAX_LOG_LINE_CHARS, Topics, type Container } from '@wcp/contracts';
import { InProcessBus, ok } from '@wcp/messaging';
import { waitFor } from '@wcp/testing';
import { LocalProcessDriver, type LocalProcessDriverOptions } from './local-process.driver';
import { TRUNCATED_MARKER } from './log-line';
import { findProcessesWithEnv, signalGroup } from './process-group';
import { ReplicaLogTailer, replicaLogFiles, type ReplicaLogOptions } from './replica-log.tailer';
import type { LogShipping, LogSink, ProtonSpec, RuntimeEvent } from './runtime-driver';

// Real replica processes of catalog images, their files tailed, batches published on an
// in-process bus. Handlers only collect; every assertion runs outside them.

const WORKLOAD = 'ab'.repeat(12);

function options(stateDir: string, logs: ReplicaLogOptions = {}): LocalProcessDriverOptions {
  return {
    stateDir,
    probeSecondMs: 100,
    defaultReadiness: { periodMs: 100, timeoutMs: 500, failureThreshold: 2 },
    restartBackoff: { initialMs: 100, maxMs: 400 },
    maxRestarts: 2,
    readyTimeoutMs: 8000,
    pidPollMs: 100,
    restartGraceMs: 1000,
    logs: { pollMs: 50, ...logs },
  };
}

let seq = 0;
function spec(imageUri: string, env: Record<string, string> = {}): ProtonSpec {
  seq += 1;
  const protonId = `${Date.now().toString(16)}${String(seq).padStart(4, '0')}`.padEnd(24, '0').slice(0, 24);
  const container: Container = {
    name: 'main',
    primary: true,
    imageUri,
    port: 8080,
    entrypoint: [],
    environmentVars: Object.entries(env).map(([name, value]) => ({ name, value })),
    readinessProbe: null,
    livenessProbe: null,
    startupProbe: null,
  };
  return { protonId, workloadId: WORKLOAD, replicas: 1, containers: [container] };
}

/** Everything published on Topics.logs, as the bus delivered it. */
class Capture {
  readonly batches: unknown[] = [];
  private constructor(readonly bus: InProcessBus) {}

  static async start(): Promise<Capture> {
    const capture = new Capture(new InProcessBus());
    await capture.bus.subscribe({
      topic: Topics.logs,
      groupId: 'capture',
      fromBeginning: true,
      handleBatch: async (messages) => {
        for (const m of messages) capture.batches.push(m.value);
        return messages.map(() => ok);
      },
    });
    return capture;
  }

  readonly sink: LogSink = (batch) => this.bus.publish(Topics.logs, [{ key: batch.workloadId, value: batch }]);

  lines(replica?: string): LogBatch['lines'] {
    return (this.batches as LogBatch[]).filter((b) => !replica || b.replica === replica).flatMap((b) => b.lines);
  }
}

const dirs: string[] = [];
const drivers: LocalProcessDriver[] = [];
const shippings: LogShipping[] = [];
const buses: InProcessBus[] = [];

function stateDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'wcp-logs-'));
  dirs.push(dir);
  return dir;
}

function newDriver(dir: string, sink: LogSink, logs: ReplicaLogOptions = {}): { driver: LocalProcessDriver; shipping: LogShipping } {
  const driver = new LocalProcessDriver(options(dir, logs));
  drivers.push(driver);
  const shipping = driver.shipLogs(sink);
  shippings.push(shipping);
  return { driver, shipping };
}

function running(driver: LocalProcessDriver, protonId: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`proton ${protonId} did not run`)), 15000);
    const off = driver.onEvent((e: RuntimeEvent) => {
      if (e.protonId !== protonId || (e.type !== 'ProtonRunning' && e.type !== 'ProtonErrored')) return;
      clearTimeout(timer);
      off();
      if (e.type === 'ProtonRunning') resolve();
      else reject(new Error(`proton errored: ${e.reason}`));
    });
  });
}

function get(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

function cursorsOf(dir: string): Array<{ replica: string; stream: string; generation: number; offset: number }> {
  const file = join(dir, 'log-cursors.json');
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as { cursors: Array<{ replica: string; stream: string; generation: number; offset: number }> }).cursors : [];
}

const ID = /^([0-9a-f-]{36}):(stdout|stderr):(\d+):(\d+)$/;

afterAll(async () => {
  for (const s of shippings) await s.stop(500).catch(() => undefined);
  for (const d of drivers) await d.shutdown({ stopReplicas: true, graceMs: 200 }).catch(() => undefined);
  for (const b of buses) await b.close();
  for (const dir of dirs) {
    for (const { pid } of findProcessesWithEnv('WCP_RUNTIME_DIR', dir)) signalGroup(pid, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

describe('replica log shipping', () => {
  it('ships stdout and stderr lines with their stream and level, keeps runtime markers out, and drains exited replicas', async () => {
    const capture = await Capture.start();
    buses.push(capture.bus);
    const dir = stateDir();
    const { driver, shipping } = newDriver(dir, capture.sink);
    const echo = spec('local/echo-model:1');
    const crash = spec('local/crash-loop:1', { CRASH_AFTER_MS: '50' });
    const up = running(driver, echo.protonId);
    await driver.ensureRunning(echo);
    await driver.ensureRunning(crash);
    await up;
    const [endpoint] = driver.readyEndpoints(echo.protonId);
    expect(await get(`${endpoint.url}/predict?x=1`)).toBe(200);
    expect(await get(`${endpoint.url}/boom?status=503`)).toBe(503);
    const echoReplica = `${echo.protonId}-0`;
    const crashReplica = `${crash.protonId}-0`;
    await waitFor(() => capture.lines(echoReplica).some((l) => l.message.includes('"status":503')), 'the echo replica’s request lines', 10000, 50);
    // Three runs of the crash loop (maxRestarts 2), each with its own instance id; then it is errored and drained.
    await waitFor(() => capture.lines(crashReplica).length >= 3 && !cursorsOf(dir).some((c) => c.replica === crashReplica), 'the crash loop’s lines, drained', 15000, 50);
    expect((await driver.stop(echo.protonId, { graceMs: 2000 })).stopped).toBe(true);
    await waitFor(() => capture.lines(echoReplica).some((l) => l.message.includes('got SIGTERM')), 'the line printed while stopping', 10000, 50);
    await shipping.stop();

    for (const batch of capture.batches) expect(LogBatch.safeParse(batch).error).toBeUndefined();
    const batches = capture.batches as LogBatch[];
    expect(batches.every((b) => b.workloadId === WORKLOAD && b.container === 'main')).toBe(true);
    const echoLines = capture.lines(echoReplica);
    const pick = (re: RegExp) => echoLines.find((l) => re.test(l.message));
    expect(pick(/listening on/)).toMatchObject({ stream: 'stdout', level: 'info', truncated: false });
    expect(pick(/^GET \/predict 200 [\d.]+ms$/)).toMatchObject({ stream: 'stdout', level: 'info' });
    expect(JSON.parse(pick(/"status":503/)?.message ?? '{}')).toMatchObject({ level: 'error', method: 'GET', path: '/boom', status: 503 });
    expect(pick(/"status":503/)).toMatchObject({ stream: 'stdout', level: 'error' });
    expect(echoLines.some((l) => l.message.includes('/healthz'))).toBe(false);
    const crashLines = capture.lines(crashReplica);
    expect(crashLines).toHaveLength(3);
    for (const l of crashLines) expect(l).toMatchObject({ stream: 'stderr', level: 'warning', message: `crash-loop ${crashReplica}: exiting in 50 ms` });
    expect(new Set(crashLines.map((l) => ID.exec(l.id)?.[1])).size).toBe(3);
    // Line ids: instance:stream:generation:byte offset of the line start in that file.
    const stdout = readFileSync(replicaLogFiles(join(dir, 'logs'), echoReplica).stdout);
    for (const l of echoLines) {
      const [, , stream, generation, offset] = ID.exec(l.id) ?? [];
      expect([stream, generation]).toEqual(['stdout', '0']);
      expect(stdout.toString('utf8', Number(offset), Number(offset) + Buffer.byteLength(l.message))).toBe(l.message);
    }
    expect(new Set(capture.lines().map((l) => l.id)).size).toBe(capture.lines().length);
    // Driver markers go to their own file, never shipped.
    expect(readFileSync(replicaLogFiles(join(dir, 'logs'), echoReplica).runtime, 'utf8')).toMatch(/^--- .* start local\/echo-model:1 /);
    expect(capture.lines().some((l) => l.message.startsWith('--- '))).toBe(false);
  });

  it('ships 100,000 lines in order with bounded heap and rotated files under the bound', async () => {
    const gc = exposeGc();
    let lines = 0;
    let outOfOrder = 0;
    let lastSeq = -1;
    let lastKey = '';
    let generations = 0;
    let dropNotices = 0;
    let done = false;
    const bus = new InProcessBus();
    buses.push(bus);
    await bus.subscribe({
      topic: Topics.logs,
      groupId: 'flood',
      fromBeginning: true,
      handleBatch: async (messages) => {
        // Keeps numbers only: what the test holds must not blur the heap measurement.
        for (const m of messages) {
          for (const l of (m.value as LogBatch).lines) {
            if (l.message === 'flood done') done = true;
            if (l.message.startsWith('[runtime]')) dropNotices++;
            const n = /^flood (\d+) /.exec(l.message);
            if (!n) continue;
            const [, , , generation, offset] = ID.exec(l.id) ?? [];
            const key = `${generation.padStart(6, '0')}:${offset.padStart(12, '0')}`;
            if (Number(n[1]) !== lastSeq + 1 || key <= lastKey) outOfOrder++;
            generations = Math.max(generations, Number(generation));
            lastSeq = Number(n[1]);
            lastKey = key;
            lines++;
          }
        }
        return messages.map(() => ok);
      },
    });
    // Rotation at 512 KiB; a backlog of 2 MiB (~0.7 s of this flood) would be dropped.
    const maxBytes = 512 * 1024;
    const dir = stateDir();
    const { driver, shipping } = newDriver(dir, (batch) => bus.publish(Topics.logs, [{ key: batch.workloadId, value: batch }]), { maxBytes, files: 2 });
    const s = spec('local/log-flood:1', { LOG_LINES: '100000', LOG_BURST: '2000', LOG_PAUSE_MS: '20', LOG_PAD: '24' });
    const logsDir = join(dir, 'logs');
    gc();
    const before = process.memoryUsage().heapUsed;
    let peakHeap = before;
    let peakFile = 0;
    const sampler = setInterval(() => {
      peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
      for (const f of readdirSync(logsDir)) peakFile = Math.max(peakFile, statSafe(join(logsDir, f)));
    }, 10);
    try {
      const up = running(driver, s.protonId);
      await driver.ensureRunning(s);
      await up;
      await waitFor(() => done, 'the flood to be shipped', 60000, 50);
    } finally {
      clearInterval(sampler);
    }
    expect({ lines, outOfOrder, lastSeq, dropNotices }).toEqual({ lines: 100000, outOfOrder: 0, lastSeq: 99999, dropNotices: 0 });
    // ~3.7 MB went through 512 KiB files: rotated more than once (how often depends on how far the
    // tailer lags behind the writer on a loaded machine), never beyond the bound.
    expect(generations).toBeGreaterThanOrEqual(2);
    expect(peakFile).toBeLessThan(4 * maxBytes);
    const files = readdirSync(logsDir).filter((f) => f.startsWith(`${s.protonId}-0.stdout`)).sort();
    expect(files).toEqual([`${s.protonId}-0.stdout.log`, `${s.protonId}-0.stdout.log.1`]);
    expect(peakHeap - before).toBeLessThan(100 * 1024 * 1024);
    await driver.stop(s.protonId, { graceMs: 1000 });
    await shipping.stop();
  });

  it('cuts a line longer than MAX_LOG_LINE_CHARS, marks it, and goes on with the next line', async () => {
    const capture = await Capture.start();
    buses.push(capture.bus);
    const { driver, shipping } = newDriver(stateDir(), capture.sink);
    const s = spec('local/log-flood:1', { LOG_LINES: '2', LOG_LONG_LINE: '40000' });
    await driver.ensureRunning(s);
    await waitFor(() => capture.lines().some((l) => l.message === 'flood done'), 'the lines after the long one', 10000, 50);
    const lines = capture.lines();
    expect(lines.map((l) => [l.message.length, l.truncated])).toEqual([
      [MAX_LOG_LINE_CHARS + TRUNCATED_MARKER.length, true],
      ['flood 0'.length, false],
      ['flood 1'.length, false],
      ['flood done'.length, false],
    ]);
    expect(lines[0].message).toBe(`${'é'.repeat(MAX_LOG_LINE_CHARS)}${TRUNCATED_MARKER}`);
    for (const batch of capture.batches) expect(LogBatch.safeParse(batch).error).toBeUndefined();
    await driver.stop(s.protonId, { graceMs: 1000 });
    await shipping.stop();
  });

  it('after a crash of the service, a new driver adopts the replica and resumes from the persisted cursor: no line lost', async () => {
    const capture = await Capture.start();
    buses.push(capture.bus);
    const dir = stateDir();
    // The first service acknowledges five batches, then its publish hangs forever (the crash).
    let acked = 0;
    let hung!: () => void;
    const hanging = new Promise<void>((resolve) => (hung = resolve));
    // Small files, so that both services rotate (~640 KB in 256 KiB files) and the cursor crosses generations.
    const logs = { maxBytes: 256 * 1024 };
    const first = newDriver(
      dir,
      async (batch) => {
        if (acked >= 5) {
          hung();
          return new Promise<void>(() => undefined);
        }
        acked++;
        await capture.sink(batch);
      },
      logs,
    );
    const s = spec('local/log-flood:1', { LOG_LINES: '20000', LOG_BURST: '400', LOG_PAUSE_MS: '20', LOG_PAD: '20' });
    const up = running(first.driver, s.protonId);
    await first.driver.ensureRunning(s);
    await up;
    await hanging;
    await first.driver.shutdown({ stopReplicas: false });
    await first.shipping.stop(100);
    const shippedBefore = capture.lines().length;
    const cursor = cursorsOf(dir).find((c) => c.stream === 'stdout');
    expect(shippedBefore).toBeGreaterThan(0);

    const second = newDriver(dir, capture.sink, logs);
    const started: RuntimeEvent[] = [];
    second.driver.onEvent((e) => started.push(e));
    await second.driver.recover([s]);
    expect(started.filter((e) => e.type === 'ReplicaStarted').map((e) => e.type === 'ReplicaStarted' && e.adopted)).toEqual([true]);
    await waitFor(() => capture.lines().some((l) => l.message === 'flood done'), 'the rest of the flood', 30000, 50);

    const messages = capture.lines().map((l) => l.message);
    expect(messages).toEqual([...Array.from({ length: 20000 }, (_, i) => `flood ${i} ${'x'.repeat(20)}`), 'flood done']);
    expect(Math.max(...capture.lines().map((l) => Number(ID.exec(l.id)?.[3])))).toBeGreaterThanOrEqual(2);
    // The second service started exactly at the persisted cursor, as the same replica instance.
    const resumed = capture.lines()[shippedBefore];
    const firstId = ID.exec(capture.lines()[0].id) ?? [];
    expect(ID.exec(resumed.id)?.slice(1)).toEqual([firstId[1], 'stdout', String(cursor?.generation), String(cursor?.offset)]);
    await second.driver.stop(s.protonId, { graceMs: 1000 });
    await second.shipping.stop();
  });
});

describe('ReplicaLogTailer', () => {
  const target = { replica: 'p-0', workloadId: WORKLOAD, protonId: 'p', container: 'main' };
  const instance = '00000000-0000-4000-8000-000000000001';

  function tailer(sink: LogSink, logs: ReplicaLogOptions = {}) {
    const dir = stateDir();
    const logsDir = join(dir, 'logs');
    mkdirSync(logsDir);
    const files = replicaLogFiles(logsDir, target.replica);
    appendFileSync(files.stdout, '');
    appendFileSync(files.stderr, '');
    const t = new ReplicaLogTailer(logsDir, join(dir, 'log-cursors.json'), sink, { pollMs: 20, retry: { initialMs: 50, maxMs: 100 }, ...logs });
    t.start();
    t.launched(target, instance);
    return { t, files, dir };
  }

  it('retries a failed publish later with the same lines, and ships a dead writer’s unterminated last line', async () => {
    const delivered: string[][] = [];
    let attempts = 0;
    const { t, files, dir } = tailer(async (batch) => {
      attempts++;
      if (attempts <= 3) throw new Error('broker down');
      delivered.push(batch.lines.map((l) => `${l.id}|${l.message}`));
    });
    appendFileSync(files.stdout, 'one\ntwo\n');
    await waitFor(() => delivered.length === 1, 'a delivery after three failures', 5000, 10);
    expect(delivered[0]).toEqual([`${instance}:stdout:0:0|one`, `${instance}:stdout:0:4|two`]);
    appendFileSync(files.stdout, 'no newline yet');
    await new Promise((r) => setTimeout(r, 100));
    expect(delivered).toHaveLength(1);
    t.exited(target.replica);
    await waitFor(() => delivered.length === 2, 'the last line', 5000, 10);
    expect(delivered[1]).toEqual([`${instance}:stdout:0:8|no newline yet`]);
    await waitFor(() => cursorsOf(dir).length === 0, 'the drained files forgotten', 5000, 10);
    await t.stop();
  });

  it('drops a backlog that outgrows the bound while publishing fails, and says how many bytes it dropped', async () => {
    let failing = true;
    const delivered: LogBatch['lines'] = [];
    const maxBytes = 64 * 1024;
    const { t, files } = tailer(async (batch) => {
      if (failing) throw new Error('broker down');
      delivered.push(...batch.lines);
    }, { maxBytes });
    const lines = Array.from({ length: 30000 }, (_, i) => `old ${i}\n`).join('');
    appendFileSync(files.stderr, lines);
    await waitFor(() => statSync(files.stderr).size === 0, 'the backlog dropped', 5000, 10);
    appendFileSync(files.stderr, 'new\n');
    failing = false;
    await waitFor(() => delivered.some((l) => l.message === 'new'), 'the line after the drop', 5000, 10);
    expect(delivered.map((l) => [l.stream, l.level, l.message])).toEqual([
      ['stderr', 'warning', `[runtime] ${Buffer.byteLength(lines)} bytes of stderr were dropped unread: log shipping fell behind`],
      ['stderr', 'warning', 'new'],
    ]);
    expect(delivered.map((l) => l.id)).toEqual([`${instance}:stderr:0:0`, `${instance}:stderr:1:0`]);
    await t.stop();
  });
});

function statSafe(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/** A real collection before the heap baseline, so the measurement is of what shipping holds. */
function exposeGc(): () => void {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as (() => void) | undefined;
  return () => gc?.();
}
