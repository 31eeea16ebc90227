import { AsyncLocalStorage } from 'node:async_hooks';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { inSpan, startTracing, Tracing } from '@wcp/tracing';
import { InProcessBus } from './in-process.bus';
import type { BusMessage } from './message-bus';
import { processTraced } from './trace-context';

const waitUntil = async (done: () => boolean) => {
  for (let i = 0; i < 200 && !done(); i++) await new Promise((r) => setTimeout(r, 5));
};

describe('trace context through the bus (in-process, the same inject/extract as Kafka)', () => {
  it('without tracing, publishes the headers as given and adds none', async () => {
    const bus = new InProcessBus();
    const seen: BusMessage[] = [];
    await bus.subscribe({ topic: 't', groupId: 'g', handleBatch: async (ms) => (seen.push(...ms), ms.map(() => ({ kind: 'ok' as const }))) });
    await bus.publish('t', [{ key: 'k', value: 1, headers: { 'x-command-id': 'c' } }, { key: 'k', value: 2 }]);
    await waitUntil(() => seen.length === 2);
    expect(seen.map((m) => m.headers)).toEqual([{ 'x-command-id': 'c' }, {}]);
    expect(await processTraced(seen[0], {}, async () => 'ran')).toBe('ran');
    await bus.close();
  });

  it('runs consumers outside the publisher\'s async context: a request\'s ids reach them only through headers', async () => {
    const requestScope = new AsyncLocalStorage<string>();
    const bus = new InProcessBus();
    const seen: Array<string | undefined> = [];
    await bus.subscribe({ topic: 't', groupId: 'g', handleBatch: async (ms) => (seen.push(...ms.map(() => requestScope.getStore())), ms.map(() => ({ kind: 'ok' as const }))) });
    // Once the group is idle, so that this publish is the one that wakes it.
    await new Promise((r) => setTimeout(r, 10));
    await requestScope.run('request-1', () => bus.publish('t', [{ key: 'k', value: 1 }]));
    await waitUntil(() => seen.length === 1);
    expect(seen).toEqual([undefined]);
    await bus.close();
  });

  describe('with tracing', () => {
    const exporter = new InMemorySpanExporter();
    let tracing: Tracing;
    beforeAll(() => {
      tracing = startTracing({ serviceName: 'test', exporter });
    });
    afterAll(() => tracing.shutdown());

    it('puts traceparent in the headers under a producer span; the consumer span is its child, in the same trace', async () => {
      const bus = new InProcessBus();
      const seen: BusMessage[] = [];
      await bus.subscribe({
        topic: 'workload.commands.v1',
        groupId: 'g',
        handleBatch: async (messages) => {
          for (const m of messages) await processTraced(m, { 'wcp.command.id': 'c1' }, async () => void seen.push(m));
          return messages.map(() => ({ kind: 'ok' as const }));
        },
      });
      await inSpan('test', 'request', {}, () => bus.publish('workload.commands.v1', [{ key: 'w1', value: { a: 1 }, headers: { 'x-command-id': 'c1' } }]));
      await waitUntil(() => exporter.getFinishedSpans().length === 3);
      expect(seen[0].headers['x-command-id']).toBe('c1');
      expect(seen[0].headers.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
      const spans = Object.fromEntries(exporter.getFinishedSpans().map((s) => [s.name, s]));
      const request = spans.request;
      const publish = spans['workload.commands.v1 publish'];
      const processed = spans['workload.commands.v1 process'];
      expect(new Set([request, publish, processed].map((s) => s.spanContext().traceId)).size).toBe(1);
      expect(publish.parentSpanContext?.spanId).toBe(request.spanContext().spanId);
      expect(processed.parentSpanContext?.spanId).toBe(publish.spanContext().spanId);
      expect(processed.attributes['wcp.command.id']).toBe('c1');
      await bus.close();
    });

    it('adds no span and no header to a publish outside any span (a timer flushing request records)', async () => {
      exporter.reset();
      const bus = new InProcessBus();
      const seen: BusMessage[] = [];
      await bus.subscribe({ topic: 'r', groupId: 'g', handleBatch: async (ms) => (seen.push(...ms), ms.map(() => ({ kind: 'ok' as const }))) });
      await new Promise<void>((resolve) => setImmediate(() => void bus.publish('r', [{ key: 'k', value: 1 }]).then(resolve)));
      await waitUntil(() => seen.length === 1);
      expect(seen[0].headers).toEqual({});
      await processTraced(seen[0], {}, async () => undefined);
      expect(exporter.getFinishedSpans()).toEqual([]);
      await bus.close();
    });
  });
});
