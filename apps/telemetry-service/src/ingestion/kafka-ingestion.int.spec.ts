import { Topics } from '@wcp/contracts';
import { KafkaBus } from '@wcp/messaging';
import { createTelemetryService } from '../index';
import { refAggregate, refDedup, refSelect, seeded, type RefRecord } from '../testing/stats-reference';
import { getJson, testConfig, toMessage, waitFor, workloadId } from '../testing/telemetry-test-env';

/**
 * The same ingestion over real Kafka. Runs only when KAFKA_BROKERS is set (infra/up.sh), and
 * then FAILS, never skips, if the brokers cannot be reached.
 */
const BROKERS = process.env.KAFKA_BROKERS?.split(',').map((s) => s.trim()).filter(Boolean);
const describeKafka = BROKERS?.length ? describe : describe.skip;
const T0 = Date.UTC(2026, 5, 1);
const iso = (ms: number) => new Date(ms).toISOString();

describeKafka('Kafka ingestion', () => {
  const brokers = BROKERS ?? [];
  const runId = `${Date.now()}-${process.pid}`;
  /** A fresh namespace: the topics hold only this run's records. */
  const namespace = `telemetry-int-${runId}`;

  beforeAll(async () => {
    const probe = new KafkaBus({ brokers, clientId: `telemetry-int-probe-${runId}` });
    const reachable = await probe.ping();
    await probe.close();
    if (!reachable) throw new Error(`KAFKA_BROKERS=${brokers.join(',')} is set but unreachable`);
  }, 90_000);

  it('ingests, dead-letters, and stays exact across a restart that re-reads the topic', async () => {
    const topics = [
      { topic: Topics.requests, partitions: 3 },
      { topic: Topics.requestsDeadLetter, partitions: 1 },
    ];
    const producer = new KafkaBus({ brokers, namespace, clientId: `telemetry-int-producer-${runId}`, topics });
    await producer.ensureTopics();
    const w = workloadId();
    const rand = seeded(11);
    const recs: RefRecord[] = Array.from({ length: 500 }, (_, i) => ({
      id: `${w}-${i}`, workloadId: w, protonId: i % 2 ? 'a' : 'b', status: [200, 404, 503][i % 3],
      startedMs: T0 + Math.floor(rand() * 600) * 1000, durationMs: Math.floor(rand() * 3000), arrivedMs: 0,
    }));
    const expected = () => {
      const a = refAggregate(refSelect(refDedup(recs), [], { workloadIds: [w], startMs: T0, endMs: T0 + 3600_000 }), 0.5, 2000);
      return { totalRequests: a.total, concurrentRequests: a.peak, responseTime: a.responseTime, userErrors: a.userErrors, serverErrors: a.serverErrors };
    };
    const stats = async (url: string) =>
      (await getJson<{ metrics: Record<string, number> }>(`${url}/internal/workloads/${w}/stats?startTime=${iso(T0)}&endTime=${iso(T0 + 3600_000)}`)).body.metrics;

    const config = testConfig('kafka_int', { KAFKA_BROKERS: brokers.join(','), KAFKA_GROUP_ID: `telemetry-int-${runId}` });
    const bus1 = new KafkaBus({ brokers, namespace, clientId: `telemetry-int-1-${runId}`, topics });
    const first = await createTelemetryService({ bus: bus1, config });
    try {
      await producer.publish(Topics.requests, [
        ...recs.slice(0, 150).map((r) => ({ key: w, value: toMessage(r) })),
        { key: w, value: { not: 'a record' } }, // dead-lettered, must not block what follows
        ...recs.slice(150, 300).map((r) => ({ key: w, value: toMessage(r) })),
      ]);
      await waitFor(async () => (await stats(first.url)).totalRequests === 300, 60_000, 'first 300 records');
    } finally {
      await first.close();
      await bus1.close();
    }
    // A new group re-reads the whole topic from the beginning: every record is redelivered.
    await producer.publish(Topics.requests, recs.slice(250).map((r) => ({ key: w, value: toMessage(r) })));
    const bus2 = new KafkaBus({ brokers, namespace, clientId: `telemetry-int-2-${runId}`, topics });
    const second = await createTelemetryService({ bus: bus2, config: { ...config, groupId: `telemetry-int-${runId}-b` } });
    try {
      await waitFor(async () => (await stats(second.url)).totalRequests === 500, 60_000, 'all 500 records');
      await new Promise((r) => setTimeout(r, 500));
      expect(await stats(second.url)).toMatchObject(expected());
    } finally {
      await second.close();
      await bus2.close();
      await producer.close();
    }
  }, 180_000);
});
