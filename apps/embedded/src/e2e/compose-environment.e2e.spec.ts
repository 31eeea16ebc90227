import { createClient, type ClickHouseClient } from '@clickhouse/client';
import { Topics } from '@wcp/contracts';
import { GatewayEnvironment } from '@wcp/gateway';
import { loadTelemetryConfig, TelemetryEnvironment } from '@wcp/telemetry-service';
import { loadConfig as workloadConfig, WorkloadServiceEnvironment } from '@wcp/workload-service';
import { ApiClient, freePort, requireKafka, requireMongo, waitFor } from '@wcp/testing';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import mongoose from 'mongoose';
import { waitForStatus } from './api.helpers';
import {
  appServices,
  durationMs,
  envExample,
  REPO_ROOT,
  resolveCompose,
  serviceEnvironment,
  startOrder,
  type ComposeFile,
  type ComposeService,
} from './compose.harness';
import { echoArtifact } from './system.harness';

/**
 * The three apps as `docker compose up` runs them, without Docker: each a process with exactly
 * the environment docker-compose.yml gives it (plus the image's ENV), interpolated from a `.env`
 * filled in from .env.example, against the real Kafka and FerretDB of infra/. What a container
 * network does is translated, nothing else:
 * - each compose service gets a loopback address of its own (127.0.0.2, .3, …), so a process that
 *   listens on 127.0.0.1 only, or a replica advertised by the wrong name, is unreachable from the
 *   "other container" exactly as it would be;
 * - `service:port` becomes that address and a free port (also the app's own listen port), the
 *   published `localhost:8080` the gateway's, a named volume a temporary directory;
 * - kafka and mongodb are infra/'s servers; clickhouse is chDB behind ClickHouse's HTTP interface
 *   (clickhouse-http.fixture.js), checking the credentials the compose file gives the server.
 * Health is the compose healthcheck command itself, run against the process.
 *
 * A variable the file forgets, misspells or mis-types breaks a step below: boot (config schema),
 * a healthcheck, the gateway reaching a service or a replica, or the data landing in the store
 * the file names (FerretDB, ClickHouse, the runtime volume) rather than an embedded default.
 *
 * The compose stores are whole servers of their own, so this test owns the database and the
 * un-namespaced topics the file's environment names: it empties them before and after.
 */
const BACKING = ['kafka', 'mongodb', 'clickhouse'] as const;
const BACKING_PORTS: Record<(typeof BACKING)[number], number> = { kafka: 9092, mongodb: 27017, clickhouse: 8123 };
const KNOWN: Record<string, string[]> = {
  gateway: Object.keys(GatewayEnvironment.shape),
  'workload-service': Object.keys(WorkloadServiceEnvironment.shape),
  'telemetry-service': Object.keys(TelemetryEnvironment.shape),
};

/** The image's own environment (Dockerfile ENV of the final stage), beneath the compose file's. */
function imageEnvironment(): Record<string, string> {
  const dockerfile = readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8');
  const finalStage = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
  const env: Record<string, string> = {};
  for (const line of finalStage.split('\n').filter((l) => l.startsWith('ENV '))) {
    for (const m of line.slice(4).matchAll(/([A-Za-z_][A-Za-z0-9_]*)=(\S+)/g)) env[m[1]] = m[2];
  }
  return env;
}

/** 127.0.0.2… when the OS routes the whole loopback range (Linux); 127.0.0.1 for all otherwise (macOS). */
async function loopbackAddresses(names: string[]): Promise<Record<string, string>> {
  const usable = await new Promise<boolean>((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(0, '127.0.0.2', () => probe.close(() => resolve(true)));
  });
  return Object.fromEntries(names.map((n, i) => [n, usable ? `127.0.0.${i + 2}` : '127.0.0.1']));
}

function hostPortOf(url: string): { host: string; port: number } {
  const u = new URL(url.includes('://') ? url : `tcp://${url}`);
  return { host: u.hostname, port: Number(u.port) };
}

interface Network {
  /** compose service → its loopback address */
  hosts: Record<string, string>;
  /** `service:port` (as written in the file) → `address:port` (where it is in this test) */
  endpoints: Map<string, string>;
  /** published `localhost:<port>` → `address:port` */
  published: Map<string, string>;
  /** named volume → directory */
  volumes: Record<string, string>;
}

/** One app's environment with the container network translated (see the docblock). */
function translate(name: string, service: ComposeService, net: Network): Record<string, string> {
  const own = new Map((service.expose ?? []).map((p) => [String(p), net.endpoints.get(`${name}:${p}`)!.split(':')[1]]));
  const mounts = (service.volumes ?? []).map((v) => v.split(':') as [string, string]);
  const services = Object.keys(net.hosts).join('|');
  const env: Record<string, string> = {};
  for (const [key, raw] of Object.entries(serviceEnvironment(service))) {
    let value = raw.replace(new RegExp(`\\b(${services}):(\\d+)\\b`, 'g'), (m) => net.endpoints.get(m) ?? m);
    value = value.replace(/\blocalhost:(\d+)\b/g, (m) => net.published.get(m) ?? m);
    if (net.hosts[value]) value = net.hosts[value];
    if (own.has(value)) value = own.get(value)!;
    for (const [volume, target] of mounts) if (value === target || value.startsWith(`${target}/`)) value = net.volumes[volume] + value.slice(target.length);
    // Anything still naming a compose service would be resolved by no one here: the mapping must be complete.
    if (new RegExp(`(//|@)(${services})([:/,]|$)|^(${services})(:\\d+)?$`).test(value)) throw new Error(`${name}.${key}=${raw}: untranslated service name`);
    env[key] = value;
  }
  return env;
}

interface AppProcess {
  child: ChildProcess;
  output(): string;
}

function startApp(service: ComposeService, env: Record<string, string>, home: string): AppProcess {
  const [program, ...args] = service.command!;
  if (program !== 'node') throw new Error(`unexpected command ${program}`);
  // Exactly what the container has: the image ENV, the compose environment, and what Docker adds itself.
  const child = spawn(process.execPath, args, { cwd: REPO_ROOT, env: { ...imageEnvironment(), PATH: process.env.PATH, HOME: home, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (chunk: Buffer) => (output = (output + chunk.toString()).slice(-20_000));
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  return { child, output: () => output };
}

/** The compose healthcheck command, run on "the container": its localhost is the service's address. */
function runHealthcheck(name: string, service: ComposeService, net: Network): Promise<boolean> {
  const test = service.healthcheck!.test as string[];
  if (test[0] !== 'CMD' || test[1] !== 'node') throw new Error(`${name}: healthcheck ${JSON.stringify(test)} is not a node CMD`);
  const args = test.slice(2).map((a) => a.replace(/\b(?:localhost|127\.0\.0\.1):(\d+)\b/g, (m, port: string) => net.endpoints.get(`${name}:${port}`) ?? m));
  const timeoutMs = durationMs(service.healthcheck!.timeout ?? '30s');
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { stdio: 'ignore', timeout: timeoutMs });
    child.once('exit', (code) => resolve(code === 0));
    child.once('error', () => resolve(false));
  });
}

function refused(address: string): Promise<boolean> {
  const { host, port } = hostPortOf(address);
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.once('connect', () => (socket.destroy(), resolve(false)));
    socket.once('error', () => resolve(true));
  });
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true }).filter((d) => d.isFile()).map((d) => join(d.parentPath, d.name));
}

describe('docker-compose.yml, run as processes with exactly its environment', () => {
  let compose: ComposeFile;
  let net: Network;
  let envs: Record<string, Record<string, string>>;
  const processes: Record<string, AppProcess> = {};
  let fixture: ChildProcess | undefined;
  let clickhouse: ClickHouseClient | undefined;
  let api: ApiClient;
  let publicBaseUrl: string;
  let kafka: Kafka;
  const temp: string[] = [];
  const tempDir = (prefix: string) => {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    temp.push(dir);
    return dir;
  };
  const logs = () => Object.entries(processes).map(([n, p]) => `--- ${n}\n${p.output()}`).join('\n');

  /** The store names the compose environment gives the apps (the database, the topic prefix): emptied before and after. */
  async function resetStores(): Promise<void> {
    const ws = workloadConfig(envs['workload-service']);
    if (!ws.MONGODB_URI) throw new Error('the compose file gives workload-service no MONGODB_URI: its events would live in SQLite on the runtime volume, not in the mongodb service');
    const connection = await mongoose.createConnection(ws.MONGODB_URI, { dbName: ws.MONGODB_DB }).asPromise();
    await connection.dropDatabase();
    await connection.close();
    const prefix = ws.KAFKA_NAMESPACE ? `${ws.KAFKA_NAMESPACE}.` : '';
    const admin = kafka.admin();
    await admin.connect();
    const ours = new Set<string>(Object.values(Topics).map((t) => `${prefix}${t}`));
    const existing = (await admin.listTopics()).filter((t) => ours.has(t));
    if (existing.length > 0) await admin.deleteTopics({ topics: existing, timeout: 30_000 });
    await waitFor(async () => (await admin.listTopics()).every((t) => !ours.has(t)), 'compose topics deleted', 30_000, 200);
    await admin.disconnect();
  }

  beforeAll(async () => {
    // An operator's .env: .env.example with its blanks (the secrets) filled in.
    const dotenv = Object.fromEntries(Object.entries(envExample()).map(([k, v]) => [k, v || `${k.toLowerCase().replace(/_/g, '-')}-${Math.random().toString(36).slice(2)}-e2e`]));
    compose = resolveCompose(dotenv);
    const apps = appServices(compose);
    const hosts = await loopbackAddresses(Object.keys(compose.services));
    const [kafkaAt] = requireKafka();
    const mongoAt = hostPortOf(requireMongo());
    const fixturePort = await freePort();
    net = {
      hosts: { ...hosts, kafka: hostPortOf(kafkaAt).host, mongodb: mongoAt.host },
      endpoints: new Map([
        [`kafka:${BACKING_PORTS.kafka}`, kafkaAt],
        [`mongodb:${BACKING_PORTS.mongodb}`, `${mongoAt.host}:${mongoAt.port}`],
        [`clickhouse:${BACKING_PORTS.clickhouse}`, `${hosts.clickhouse}:${fixturePort}`],
      ]),
      published: new Map(),
      volumes: Object.fromEntries(Object.keys(compose.volumes ?? {}).map((v) => [v, tempDir(`wcp-compose-${v}-`)])),
    };
    for (const name of apps) {
      for (const port of compose.services[name].expose ?? []) net.endpoints.set(`${name}:${port}`, `${hosts[name]}:${await freePort()}`);
      for (const mapping of compose.services[name].ports ?? []) {
        const [published, target] = String(mapping).split(':');
        net.published.set(`localhost:${published}`, net.endpoints.get(`${name}:${target}`)!);
      }
    }
    envs = Object.fromEntries(apps.map((name) => [name, translate(name, compose.services[name], net)]));
    for (const name of apps) {
      const unknown = Object.keys(envs[name]).filter((k) => !KNOWN[name].includes(k) && !['TZ', 'NODE_ENV'].includes(k));
      if (unknown.length > 0) throw new Error(`${name} is given variables it never reads (misspelled?): ${unknown.join(', ')}`);
    }
    expect(BACKING.every((b) => compose.services[b])).toBe(true);

    kafka = new Kafka({ clientId: 'e2e-compose', brokers: requireKafka(), logLevel: logLevel.NOTHING });
    await resetStores();

    // The clickhouse service, with the user and password the compose file gives the server.
    const server = serviceEnvironment(compose.services.clickhouse);
    fixture = spawn(process.execPath, [join(__dirname, 'clickhouse-http.fixture.js')], {
      env: { PATH: process.env.PATH, TZ: 'UTC', CH_HOST: hosts.clickhouse, CH_PORT: String(fixturePort), CH_USER: server.CLICKHOUSE_USER, CH_PASSWORD: server.CLICKHOUSE_PASSWORD, CH_PATH: join(net.volumes['clickhouse-data'], 'chdb') },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await new Promise<void>((resolve, reject) => {
      fixture!.stdout!.on('data', (c: Buffer) => c.toString().includes('READY') && resolve());
      fixture!.once('exit', (code) => reject(new Error(`clickhouse fixture exited ${code}`)));
    });
    clickhouse = createClient({ url: `http://${net.endpoints.get(`clickhouse:${BACKING_PORTS.clickhouse}`)}`, username: server.CLICKHOUSE_USER, password: server.CLICKHOUSE_PASSWORD });

    // In depends_on order; a dependency with `service_healthy` is waited for by its healthcheck.
    const home = tempDir('wcp-compose-home-');
    const healthy = async (name: string) => {
      const service = compose.services[name];
      const budget = durationMs(service.healthcheck!.start_period ?? '0s') + durationMs(service.healthcheck!.interval ?? '30s') * (service.healthcheck!.retries ?? 3);
      await waitFor(
        async () => {
          if (processes[name].child.exitCode !== null) throw new Error(`${name} exited with ${processes[name].child.exitCode}:\n${processes[name].output()}`);
          return runHealthcheck(name, service, net);
        },
        `${name} healthy by its compose healthcheck`,
        Math.min(budget, 90_000),
        250,
      );
    };
    for (const name of startOrder(compose, apps)) {
      for (const [dep, { condition }] of Object.entries(compose.services[name].depends_on ?? {})) if (apps.includes(dep) && condition === 'service_healthy') await healthy(dep);
      processes[name] = startApp(compose.services[name], envs[name], home);
    }
    for (const name of apps) await healthy(name);

    publicBaseUrl = envs.gateway.PUBLIC_BASE_URL;
    api = new ApiClient(publicBaseUrl, dotenv.BOOTSTRAP_API_TOKEN);
  }, 240_000);

  afterAll(async () => {
    for (const name of ['gateway', 'telemetry-service', 'workload-service']) {
      const child = processes[name]?.child;
      if (!child || child.exitCode !== null || child.signalCode !== null) continue;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), durationMs(compose.services[name].stop_grace_period ?? '10s'));
      await exited;
      clearTimeout(timer);
    }
    await clickhouse?.close();
    if (fixture && fixture.exitCode === null) {
      const exited = new Promise((resolve) => fixture!.once('exit', resolve));
      fixture.kill('SIGTERM');
      await exited;
    }
    if (kafka && envs?.['workload-service']?.MONGODB_URI) await resetStores();
    for (const dir of temp) rmSync(dir, { recursive: true, force: true });
  }, 120_000);

  it('creates a workload, runs it, forwards traffic to its replica, counts it, and deletes it', async () => {
    try {
      const health = await api.get('/api/v2/health');
      expect(health.body).toMatchObject({ status: 'ok', components: { messageBus: 'ok', workloadService: 'ok', telemetryService: 'ok' } });

      const created = await api.post('/api/v2/workloads', { name: 'compose', artifact: echoArtifact('compose-echo') });
      expect(created.status).toBe(201);
      const id: string = created.body.id;
      // PUBLIC_BASE_URL reaches the clients: the endpoint is where the gateway is published.
      expect(created.body.endpoint).toBe(`${publicBaseUrl}/api/v2/endpoints/workloads/${id}/`);
      const running = await waitForStatus(api, id, 'running', 60_000);

      // The replica is advertised under the workload service's name (here: its address), not loopback.
      const details = (await api.get(`/api/v2/workloads/${id}/protons/${running.protonId}/statusDetails`)).body;
      expect(details.replicas).toHaveLength(1);
      const replicaAddress: string = details.replicas[0].address;
      expect(hostPortOf(replicaAddress).host).toBe(net.hosts['workload-service']);

      // The data plane: the gateway ("another container") reaches the replica at that address.
      for (let i = 0; i < 5; i++) {
        const answer = await api.post(`/api/v2/endpoints/workloads/${id}/predict`, { input: i });
        expect({ status: answer.status, body: answer.body }).toEqual({ status: 200, body: expect.objectContaining({ ok: true, path: '/predict', body: { input: i } }) });
      }

      const stats = await waitFor(async () => {
        const s = (await api.get(`/api/v2/workloads/${id}/stats`)).body;
        return s.metrics?.totalRequests === 5 ? s : undefined;
      }, 'five recorded requests', 30_000);
      expect(stats.metrics).toMatchObject({ serverErrors: 0, userErrors: 0 });

      // Each store is the one the compose file names, not an embedded default:
      // request records in the ClickHouse server (CLICKHOUSE_URL) …
      const database = loadTelemetryConfig(envs['telemetry-service']).clickhouse.database;
      const rows = await (await clickhouse!.query({ query: `SELECT count() AS n FROM ${database}.requests WHERE workload_id = {id:String}`, query_params: { id }, format: 'JSONEachRow' })).json<{ n: string }>();
      expect(Number(rows[0].n)).toBe(5);
      // … events in MongoDB (MONGODB_URI) …
      const ws = workloadConfig(envs['workload-service']);
      const connection = await mongoose.createConnection(ws.MONGODB_URI!, { dbName: ws.MONGODB_DB }).asPromise();
      const commits = await connection.db!.collection('commits').find({}).toArray();
      await connection.close();
      expect(commits.filter((c) => String(c.streamId).includes(id)).length).toBeGreaterThan(0);
      // … replica state and logs on the runtime volume (DATA_DIR).
      const runtimeFiles = filesUnder(net.volumes['runtime-data']).map((f) => f.slice(net.volumes['runtime-data'].length));
      expect(runtimeFiles).toEqual(expect.arrayContaining([expect.stringContaining(`${running.protonId}-0.stdout.log`), expect.stringContaining('replicas.json')]));

      const deleted = await api.delete(`/api/v2/workloads/${id}`);
      expect(deleted.status).toBe(204);
      await waitFor(async () => (await api.get(`/api/v2/workloads/${id}`)).status === 404, 'the workload gone', 30_000);
      await waitFor(() => refused(replicaAddress), 'its replica stopped', 30_000, 200);
    } catch (error) {
      throw new Error(`${(error as Error).message}\n\nprocess output:\n${logs()}`);
    }
  }, 240_000);
});
