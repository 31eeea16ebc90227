import { ApiClient, freePort, requireKafka, requireMongo, RunningProcess, startNode, uniqueName, waitFor } from '@wcp/testing';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const APPS = resolve(__dirname, '../../..');
export const ADMIN_TOKEN = 'e2e-admin-token-0123456789abcdef';

export interface System {
  mode: 'embedded' | 'distributed';
  /** Kafka namespace of a distributed system (prefix of its topics). */
  kafkaNamespace?: string;
  /** DATA_DIR of an embedded system. */
  dataDir?: string;
  api: ApiClient;
  baseUrl: string;
  processes: Record<string, RunningProcess>;
  /** Where each app serves Prometheus `/metrics` (embedded: one merged `/metrics` on the gateway's port). */
  metricsUrls: Record<string, string>;
  /** Stops every process (gracefully) and starts them again on the same data. */
  restart(): Promise<void>;
  /** SIGKILLs one process and starts it again with the same environment, optionally changed. */
  crashAndRestart(name: string, env?: Record<string, string>): Promise<void>;
  /** SIGKILLs one process and leaves it down. */
  kill(name: string): Promise<void>;
  /** Distributed only: one more gateway process on the same services and Kafka; its base URL. */
  addGateway?(): Promise<string>;
  /**
   * Distributed only: one more workload-service instance in the same consumer group, store and
   * namespace (its own runtime DATA_DIR and internal port); its process name.
   */
  addWorkloadService?(): Promise<string>;
  /** Starts a process that was killed, with its environment optionally changed. */
  start(name: string, env?: Record<string, string>): Promise<void>;
  stop(): Promise<void>;
  logs(): string;
  /** Everything each running process wrote (stdout, then stderr) since it started, by process name: for whole-output checks. */
  fullLogs(): Record<string, string>;
}

async function healthy(url: string): Promise<boolean> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(1000) });
    return response.ok;
  } catch {
    return false;
  }
}

/** Embedded mode: `node apps/embedded/dist/main.js`, as `npm start` runs it. */
export async function startEmbeddedSystem(extraEnv: Record<string, string> = {}): Promise<System> {
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'wcp-e2e-'));
  const env = { PORT: String(port), DATA_DIR: dataDir, BOOTSTRAP_API_TOKEN: ADMIN_TOKEN, TZ: 'UTC', ...extraEnv };
  const baseUrl = `http://127.0.0.1:${port}`;
  const start = async () => {
    const p = startNode(join(APPS, 'embedded/dist/main.js'), env);
    await waitFor(async () => (p.child.exitCode !== null ? Promise.reject(new Error(p.output())) : healthy(`${baseUrl}/api/v2/health`)), 'embedded system', 60_000);
    return p;
  };
  const processes: Record<string, RunningProcess> = { embedded: await start() };
  return {
    mode: 'embedded',
    dataDir,
    api: new ApiClient(baseUrl, ADMIN_TOKEN),
    baseUrl,
    processes,
    metricsUrls: { embedded: `${baseUrl}/metrics` },
    restart: async () => {
      await processes.embedded.stop();
      processes.embedded = await start();
    },
    crashAndRestart: async () => {
      await processes.embedded.kill();
      processes.embedded = await start();
    },
    kill: async () => processes.embedded.kill(),
    start: async (_name, extra = {}) => {
      Object.assign(env, extra);
      processes.embedded = await start();
    },
    stop: async () => {
      await processes.embedded.stop();
    },
    logs: () => processes.embedded.output(),
    fullLogs: () => ({ embedded: processes.embedded.fullOutput() }),
  };
}

/**
 * Distributed mode: the three apps as separate processes against the real Kafka and FerretDB
 * of infra/, each run in its own Kafka namespace and database so runs never meet.
 */
export async function startDistributedSystem(extraEnv: Record<string, Record<string, string>> = {}): Promise<System> {
  const brokers = requireKafka().join(',');
  const mongo = requireMongo();
  const namespace = uniqueName('e2e');
  const [gatewayPort, workloadPort, telemetryPort] = await Promise.all([freePort(), freePort(), freePort()]);
  const dataDir = mkdtempSync(join(tmpdir(), 'wcp-e2e-dist-'));
  const common = { KAFKA_BROKERS: brokers, KAFKA_NAMESPACE: namespace, TZ: 'UTC' };
  const envs: Record<string, Record<string, string>> = {
    'workload-service': {
      ...common,
      INTERNAL_PORT: String(workloadPort),
      MONGODB_URI: mongo,
      MONGODB_DB: namespace,
      BOOTSTRAP_API_TOKEN: ADMIN_TOKEN,
      DATA_DIR: dataDir,
      TELEMETRY_SERVICE_URL: `http://127.0.0.1:${telemetryPort}`,
      ...extraEnv['workload-service'],
    },
    'telemetry-service': { ...common, INTERNAL_PORT: String(telemetryPort), CHDB_PATH: join(dataDir, 'chdb'), ...extraEnv['telemetry-service'] },
    gateway: {
      ...common,
      PORT: String(gatewayPort),
      WORKLOAD_SERVICE_URL: `http://127.0.0.1:${workloadPort}`,
      TELEMETRY_SERVICE_URL: `http://127.0.0.1:${telemetryPort}`,
      ...extraEnv.gateway,
    },
  };
  const health: Record<string, string> = {
    'workload-service': `http://127.0.0.1:${workloadPort}/internal/health`,
    'telemetry-service': `http://127.0.0.1:${telemetryPort}/internal/health`,
    gateway: `http://127.0.0.1:${gatewayPort}/api/v2/health`,
  };
  const start = async (name: string) => {
    const p = startNode(join(APPS, name, 'dist/main.js'), envs[name]);
    await waitFor(async () => (p.child.exitCode !== null ? Promise.reject(new Error(`${name} exited:\n${p.output()}`)) : healthy(health[name])), name, 90_000);
    return p;
  };
  const processes: Record<string, RunningProcess> = {};
  processes['workload-service'] = await start('workload-service');
  processes['telemetry-service'] = await start('telemetry-service');
  processes.gateway = await start('gateway');
  const baseUrl = `http://127.0.0.1:${gatewayPort}`;
  const order = ['gateway', 'telemetry-service', 'workload-service'];
  return {
    mode: 'distributed',
    kafkaNamespace: namespace,
    api: new ApiClient(baseUrl, ADMIN_TOKEN),
    baseUrl,
    processes,
    metricsUrls: {
      gateway: `${baseUrl}/metrics`,
      'workload-service': `http://127.0.0.1:${workloadPort}/metrics`,
      'telemetry-service': `http://127.0.0.1:${telemetryPort}/metrics`,
    },
    restart: async () => {
      for (const name of order) await processes[name].stop();
      for (const name of [...order].reverse()) processes[name] = await start(name);
    },
    crashAndRestart: async (name, env = {}) => {
      await processes[name].kill();
      Object.assign(envs[name], env);
      processes[name] = await start(name);
    },
    kill: async (name) => processes[name].kill(),
    start: async (name, env = {}) => {
      Object.assign(envs[name], env);
      processes[name] = await start(name);
    },
    addGateway: async () => {
      const name = `gateway-${order.filter((n) => n.startsWith('gateway')).length + 1}`;
      const port = await freePort();
      envs[name] = { ...envs.gateway, PORT: String(port) };
      health[name] = `http://127.0.0.1:${port}/api/v2/health`;
      order.unshift(name);
      processes[name] = await startNode(join(APPS, 'gateway/dist/main.js'), envs[name]);
      await waitFor(async () => healthy(health[name]), name, 90_000);
      return `http://127.0.0.1:${port}`;
    },
    addWorkloadService: async () => {
      const name = `workload-service-${order.filter((n) => n.startsWith('workload-service')).length + 1}`;
      const port = await freePort();
      envs[name] = { ...envs['workload-service'], INTERNAL_PORT: String(port), DATA_DIR: mkdtempSync(join(tmpdir(), 'wcp-e2e-ws-')) };
      health[name] = `http://127.0.0.1:${port}/internal/health`;
      order.push(name);
      processes[name] = startNode(join(APPS, 'workload-service/dist/main.js'), envs[name]);
      await waitFor(async () => healthy(health[name]), name, 90_000);
      return name;
    },
    stop: async () => {
      for (const name of order) await processes[name]?.stop();
    },
    logs: () => order.map((n) => `--- ${n}\n${processes[n]?.output() ?? ''}`).join('\n'),
    fullLogs: () => Object.fromEntries(order.filter((n) => processes[n]).map((n) => [n, processes[n].fullOutput()])),
  };
}

export const echoArtifact = (name = 'echo') => ({
  name,
  spec: { containerGroups: [{ name: 'default', containers: [{ name: 'main', primary: true, imageUri: 'local/echo-model:1', port: 8000 }] }] },
});

/**
 * One describe per way to run — embedded, and distributed (Kafka + FerretDB, three processes) —
 * each with its system started before its tests and stopped after them. `system` stands for the
 * started one: use it in hooks and tests, not while the describe is being defined.
 */
export function describeOnSystems(
  title: string,
  define: (system: System, mode: System['mode']) => void,
  env: { embedded?: Record<string, string>; distributed?: Record<string, Record<string, string>> } = {},
): void {
  describe.each([
    ['embedded', 'embedded' as const, () => startEmbeddedSystem(env.embedded)],
    ['distributed (Kafka + FerretDB, three processes)', 'distributed' as const, () => startDistributedSystem(env.distributed)],
  ])(`${title} — %s`, (_label, mode, start) => {
    let started: System | undefined;
    const system = new Proxy({} as System, {
      get: (_target, key) => {
        if (!started) throw new Error(`the ${mode} system is not started (use it in hooks and tests)`);
        return Reflect.get(started, key);
      },
    });
    beforeAll(async () => {
      started = await start();
    }, 180_000);
    afterAll(async () => {
      await started?.stop();
    });
    define(system, mode);
  });
}
