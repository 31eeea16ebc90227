import os from 'node:os';
import path from 'node:path';
import { newId, type RequestRecord } from '@wcp/contracts';
import { loadTelemetryConfig, type TelemetryConfig } from '../config';
import type { RefRecord } from './stats-reference';

/**
 * libchdb binds one data directory per process, and `jest --runInBand` runs every int file in
 * one process: all files share this directory and isolate themselves by database.
 */
export const TEST_CHDB_PATH = path.join(os.tmpdir(), `wcp-telemetry-int-${process.pid}`);

export function testConfig(database: string, overrides: Record<string, string> = {}): TelemetryConfig {
  return loadTelemetryConfig({
    CHDB_PATH: TEST_CHDB_PATH,
    CLICKHOUSE_DATABASE: database,
    INTERNAL_PORT: '0',
    FLUSH_SIZE: '1000',
    FLUSH_INTERVAL_MS: '20',
    ...overrides,
  });
}

export function toMessage(r: RefRecord, extra: Partial<RequestRecord> = {}): RequestRecord {
  return {
    type: 'request.record',
    schemaVersion: 1,
    id: r.id,
    workloadId: r.workloadId,
    protonId: r.protonId,
    replica: 'replica-0',
    method: 'POST',
    path: '/predict',
    status: r.status,
    startedAt: new Date(r.startedMs).toISOString(),
    durationMs: r.durationMs,
    bytesIn: 10,
    bytesOut: 20,
    ...extra,
  };
}

export async function getJson<T = unknown>(url: string): Promise<{ status: number; body: T }> {
  const res = await fetch(url);
  return { status: res.status, body: (await res.json()) as T };
}

export async function postJson<T = unknown>(url: string, body: unknown): Promise<{ status: number; body: T }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as T };
}

export async function waitFor(check: () => Promise<boolean>, timeoutMs = 30_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

export const workloadId = () => newId();
