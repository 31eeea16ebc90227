import { parsePrometheus, seriesKey } from './prometheus';

describe('parsePrometheus', () => {
  const text = [
    '# HELP wcp_http_requests_total HTTP requests.',
    '# TYPE wcp_http_requests_total counter',
    'wcp_http_requests_total{status="200",app="gateway",route="/api/v2/workloads/:id"} 3',
    'wcp_http_requests_total{app="gateway",route="/api/v2/workloads/:id",status="404"} 1',
    '# TYPE wcp_request_records_dropped_total counter',
    'wcp_request_records_dropped_total 0',
    '',
  ].join('\n');

  it('keys samples by name and sorted labels', () => {
    const samples = parsePrometheus(text);
    expect(samples.get(seriesKey('wcp_http_requests_total', { app: 'gateway', route: '/api/v2/workloads/:id', status: 200 }))).toBe(3);
    expect(samples.get(seriesKey('wcp_http_requests_total', { status: '404', route: '/api/v2/workloads/:id', app: 'gateway' }))).toBe(1);
    expect(samples.get('wcp_request_records_dropped_total')).toBe(0);
  });

  it('sums one series over several texts', () => {
    expect(parsePrometheus(text, text).get('wcp_request_records_dropped_total')).toBe(0);
    expect(parsePrometheus(text, text).get(seriesKey('wcp_http_requests_total', { app: 'gateway', route: '/api/v2/workloads/:id', status: 200 }))).toBe(6);
  });

  it('refuses a metric declared twice in one text', () => {
    expect(() => parsePrometheus(`${text}# TYPE wcp_request_records_dropped_total counter\n`)).toThrow('declared twice');
  });
});
