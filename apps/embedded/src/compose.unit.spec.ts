import { loadConfig as gatewayConfig } from '@wcp/gateway';
import { loadTelemetryConfig } from '@wcp/telemetry-service';
import { loadConfig as workloadConfig } from '@wcp/workload-service';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';

/**
 * docker-compose.yml cannot run on the CI machines (no Docker), so this keeps it honest by
 * reading: every app service starts an entry point that exists and passes its app's own
 * configuration schema.
 */
const root = resolve(__dirname, '../../..');
const compose = parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8'), { merge: true });

const apps: Record<string, (env: Record<string, string>) => unknown> = {
  gateway: gatewayConfig,
  'workload-service': workloadConfig,
  'telemetry-service': loadTelemetryConfig,
};

/** `${VAR:?message}` / `${VAR:-default}` as compose would expand them with VAR set. */
function expand(value: unknown): string {
  return String(value).replace(/\$\{([A-Z_]+)(?::[?-][^}]*)?\}/g, (_m, name: string) => (name === 'BOOTSTRAP_API_TOKEN' ? 'compose-admin-token-0123456789' : `http://localhost:8080`));
}

describe('docker-compose.yml', () => {
  it('runs Kafka, MongoDB and ClickHouse from official images', () => {
    expect(compose.services.kafka.image).toMatch(/^apache\/kafka:4\./);
    expect(compose.services.mongodb.image).toMatch(/^mongo:/);
    expect(compose.services.clickhouse.image).toMatch(/^clickhouse\/clickhouse-server:/);
  });

  it.each(Object.keys(apps))('%s: entry point exists and its environment passes the config schema', (name) => {
    const service = compose.services[name];
    const [, script] = service.command as string[];
    expect(existsSync(join(root, script.replace(/^apps\/([^/]+)\/dist\/(.*)\.js$/, 'apps/$1/src/$2.ts')))).toBe(true);
    const env = Object.fromEntries(Object.entries(service.environment as Record<string, unknown>).map(([k, v]) => [k, expand(v)]));
    expect(env.KAFKA_BROKERS).toBe('kafka:9092');
    expect(() => apps[name](env)).not.toThrow();
  });

  it('points the gateway at the services by their compose names and ports', () => {
    const gateway = compose.services.gateway.environment;
    expect(gateway.WORKLOAD_SERVICE_URL).toBe(`http://workload-service:${compose.services['workload-service'].environment.INTERNAL_PORT}`);
    expect(gateway.TELEMETRY_SERVICE_URL).toBe(`http://telemetry-service:${compose.services['telemetry-service'].environment.INTERNAL_PORT}`);
  });
});
