import { parsePrometheus, seriesKey, waitFor } from '@wcp/testing';
import { waitForStatus } from './api.helpers';
import { describeOnSystems, echoArtifact } from './system.harness';

type Samples = Map<string, number>;

/**
 * `/metrics` before and after some traffic (create, start, a PATCH, data-plane requests, a stats
 * query): the named series move, with the labels the docs promise (route templates, command
 * names and outcomes, the workload id), in both modes. Embedded mode serves one merged
 * `/metrics` (each metric declared once: `parsePrometheus` refuses a duplicate).
 */
describeOnSystems('metrics', (system) => {

  async function scrape(): Promise<Samples> {
    const texts = await Promise.all(
      Object.values(system.metricsUrls).map(async (url) => {
        const response = await fetch(url);
        expect(response.status).toBe(200);
        expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
        return response.text();
      }),
    );
    return parsePrometheus(...texts);
  }

  it('counts the traffic it served in the named series', async () => {
    const before = await scrape();
    const created = await system.api.post('/api/v2/workloads', { name: 'metrics', artifact: echoArtifact('metrics') });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    await waitForStatus(system.api, id, 'running', 60_000);
    // Already running: whatever it answers, it is one StartWorkload command through the bus.
    await system.api.post(`/api/v2/workloads/${id}/start`);
    expect((await system.api.patch(`/api/v2/workloads/${id}`, { description: 'watched' })).status).toBe(200);
    for (let i = 0; i < 5; i++) expect((await system.api.post(`/api/v2/endpoints/workloads/${id}/predict`, { input: i })).status).toBe(200);
    // Records reach ClickHouse asynchronously: wait until the statistics count them.
    await waitFor(async () => (await system.api.get(`/api/v2/workloads/${id}/stats`)).body?.metrics?.totalRequests === 5, 'five requests in the statistics', 60_000);

    const grew = (after: Samples, name: string, labels: Record<string, string> = {}) => (after.get(seriesKey(name, labels)) ?? 0) - (before.get(seriesKey(name, labels)) ?? 0);
    const expectations: Array<[string, Record<string, string>, number]> = [
      ['wcp_http_requests_total', { app: 'gateway', method: 'POST', route: '/api/v2/workloads', status: '201' }, 1],
      ['wcp_http_requests_total', { app: 'gateway', method: 'PATCH', route: '/api/v2/workloads/:id', status: '200' }, 1],
      ['wcp_http_request_duration_seconds_count', { app: 'gateway', method: 'PATCH', route: '/api/v2/workloads/:id' }, 1],
      ['wcp_http_requests_total', { app: 'telemetry-service', method: 'GET', route: '/internal/workloads/:workloadId/stats', status: '200' }, 1],
      ['wcp_gateway_commands_total', { command: 'CreateWorkload', outcome: 'ok' }, 1],
      ['wcp_gateway_commands_total', { command: 'UpdateWorkload', outcome: 'ok' }, 1],
      ['wcp_gateway_command_duration_seconds_count', { command: 'UpdateWorkload', outcome: 'ok' }, 1],
      ['wcp_commands_handled_total', { command: 'UpdateWorkload', outcome: 'ok' }, 1],
      ['wcp_command_handle_duration_seconds_count', { command: 'CreateWorkload', outcome: 'ok' }, 1],
      ['wcp_event_store_append_duration_seconds_count', { outcome: 'appended' }, 3],
      ['wcp_event_store_append_batch_size_count', {}, 1],
      ['wcp_data_plane_requests_total', { workload: id, status: '2xx' }, 5],
      ['wcp_data_plane_upstream_duration_seconds_count', { workload: id }, 5],
      ['wcp_clickhouse_inserted_rows_total', { table: 'requests' }, 5],
      ['wcp_clickhouse_query_duration_seconds_count', { statistic: 'all', outcome: 'ok' }, 1],
      ['wcp_saga_steps_total', { saga: 'lifecycle', step: 'start', outcome: 'ok' }, 1],
    ];
    let after = await scrape();
    // The saga's step and the StartWorkload counters may land just after the answers above.
    await waitFor(async () => {
      after = await scrape();
      return expectations.every(([name, labels, atLeast]) => grew(after, name, labels) >= atLeast) && grew(after, 'wcp_gateway_commands_total', { command: 'StartWorkload', outcome: 'ok' }) + grew(after, 'wcp_gateway_commands_total', { command: 'StartWorkload', outcome: 'conflict' }) >= 1;
    }, 'the series to move', 30_000).catch(() => undefined);
    expect(expectations.filter(([name, labels, atLeast]) => !(grew(after, name, labels) >= atLeast)).map(([name, labels, atLeast]) => `${seriesKey(name, labels)} grew by ${grew(after, name, labels)}, expected ≥ ${atLeast}`)).toEqual([]);
    expect(grew(after, 'wcp_gateway_commands_total', { command: 'StartWorkload', outcome: 'ok' }) + grew(after, 'wcp_gateway_commands_total', { command: 'StartWorkload', outcome: 'conflict' })).toBeGreaterThanOrEqual(1);
    // Route templates only: no series carries the workload id in a route.
    expect([...after.keys()].filter((k) => k.startsWith('wcp_http_') && k.includes(id))).toEqual([]);
    // Sampled at scrape time.
    expect(after.get(seriesKey('wcp_replicas', { state: 'running' }))).toBeGreaterThanOrEqual(1);
    expect(after.get('wcp_request_records_dropped_total')).toBe(0);
    expect(after.get('wcp_request_records_buffered')).toBeGreaterThanOrEqual(0);
    expect(after.get('wcp_outbox_held_commits')).toBeGreaterThanOrEqual(0);
    expect(after.get('wcp_outbox_unpublished_commits')).toBeGreaterThanOrEqual(0);
    expect(after.get('process_cpu_user_seconds_total')).toBeGreaterThan(0);
    if (system.mode === 'distributed') {
      const lag = [...after.keys()].filter((k) => k.startsWith('wcp_kafka_consumer_lag{') && k.includes('group="workload-service.commands"') && k.includes('topic="workload.commands.v1"'));
      expect(lag.length).toBeGreaterThan(0);
      for (const key of lag) expect(after.get(key)).toBeGreaterThanOrEqual(0);
    }
  }, 180_000);

  it('answers 405 with Allow to another method on /metrics, outside the API and its token', async () => {
    const response = await fetch(Object.values(system.metricsUrls)[0], { method: 'POST' });
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('GET, HEAD');
  });
});
