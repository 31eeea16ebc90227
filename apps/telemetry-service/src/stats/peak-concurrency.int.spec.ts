import { Topics } from '@wcp/contracts';
import { InProcessBus } from '@wcp/messaging';
import { createTelemetryService, type TelemetryService } from '../index';
import { refPeak, seeded, type RefRecord } from '../testing/stats-reference';
import { getJson, testConfig, toMessage, waitFor, workloadId } from '../testing/telemetry-test-env';

/**
 * The peak-concurrency definition on the real engine against the brute-force reference, on
 * seeded random data built to hit every tie: starts on a 10 ms grid, durations that end exactly
 * on another request's start, zero-length requests at instants where others start and end,
 * fractional durations. Half-open intervals: an end at t and a start at t do not overlap; a
 * zero-length request is in flight at its start instant only.
 */
const T0 = Date.UTC(2026, 6, 1);
const MIN = 60_000;
const iso = (ms: number) => new Date(ms).toISOString();
const SEEDS = [1, 2, 3, 4];
const data = new Map<number, { workload: string; records: RefRecord[] }>();
let bus: InProcessBus;
let service: TelemetryService;

function gen(seed: number, workload: string): RefRecord[] {
  const rand = seeded(seed);
  const durations = [0, 0, 10, 20, 30, 5.5, 0.25, 1000, 15_000, 60_000];
  return Array.from({ length: 300 }, (_, i) => ({
    id: `${workload}-${i}`,
    workloadId: workload,
    protonId: 'p',
    status: 200,
    // Three minutes, weighted towards the middle one, on a 10 ms grid: many exact ties.
    startedMs: T0 + (rand() < 0.6 ? MIN + Math.floor(rand() * 100) * 10 : Math.floor(rand() * 18_000) * 10),
    durationMs: durations[Math.floor(rand() * durations.length)],
    arrivedMs: 0,
  }));
}

beforeAll(async () => {
  bus = new InProcessBus();
  service = await createTelemetryService({ bus, config: testConfig('peak_int') });
  for (const seed of SEEDS) {
    const workload = workloadId();
    const records = gen(seed, workload);
    data.set(seed, { workload, records });
    await bus.publish(Topics.requests, records.map((r) => ({ key: workload, value: toMessage(r) })));
  }
  const last = data.get(SEEDS[SEEDS.length - 1])!;
  await waitFor(async () => {
    const { body } = await getJson<{ metrics: { totalRequests: number } }>(`${service.url}/internal/workloads/${last.workload}/stats?startTime=${iso(T0)}&endTime=${iso(T0 + 3 * MIN)}`);
    return body.metrics?.totalRequests === last.records.length;
  }, 30_000, 'ingestion');
}, 60_000);

afterAll(async () => {
  await service?.close();
  await bus?.close();
});

describe.each(SEEDS)('seed %i', (seed) => {
  it('/stats peak equals the reference over whole and partial periods', async () => {
    const { workload, records } = data.get(seed)!;
    const periods: Array<[number, number]> = [[T0, T0 + 3 * MIN], [T0 + MIN, T0 + MIN + 500], [T0 + MIN + 250, T0 + 2 * MIN], [T0 + 30_000, T0 + 30_010]];
    for (const [s, e] of periods) {
      const { body } = await getJson<{ metrics: { concurrentRequests: number } }>(`${service.url}/internal/workloads/${workload}/stats?startTime=${iso(s)}&endTime=${iso(e)}`);
      const expected = refPeak(records.filter((r) => r.startedMs >= s && r.startedMs < e));
      expect({ period: [iso(s), iso(e)], peak: body.metrics.concurrentRequests }).toEqual({ period: [iso(s), iso(e)], peak: expected });
    }
  });

  it('every PT1M bucket equals the reference over the requests started in it', async () => {
    const { workload, records } = data.get(seed)!;
    const { body } = await getJson<{ buckets: Array<{ period: { start: string; end: string }; value: number }> }>(
      `${service.url}/internal/workloads/${workload}/stats/concurrentRequests?startTime=${iso(T0)}&endTime=${iso(T0 + 3 * MIN)}&resolution=PT1M`,
    );
    const expected = [0, 1, 2].map((i) => refPeak(records.filter((r) => r.startedMs >= T0 + i * MIN && r.startedMs < T0 + (i + 1) * MIN)));
    expect(body.buckets.map((b) => b.value)).toEqual(expected);
    expect(Math.max(...expected)).toBeGreaterThan(3); // the data really overlaps
  });
});
