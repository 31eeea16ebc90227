import { RequestRecord, Topics } from '@wcp/contracts';
import { BusMessage, InProcessBus, MessageBus, ok, OutgoingMessage } from '@wcp/messaging';
import { RequestRecorder } from './request-recorder';

const W1 = 'a1a1a1a1a1a1a1a1a1a1a1a1';
const W2 = 'b2b2b2b2b2b2b2b2b2b2b2b2';

const record = (n: number, workloadId = W1): RequestRecord => ({
  type: 'request.record',
  schemaVersion: 1,
  id: `r${n}`,
  workloadId,
  protonId: 'p1',
  replica: 'r1',
  method: 'GET',
  path: `/${n}`,
  status: 200,
  startedAt: '2026-11-28T10:00:00.000Z',
  durationMs: 1.5,
  bytesIn: 0,
  bytesOut: 10,
});

/** The real in-process bus, with an off switch to play an outage. */
class FlakyBus implements MessageBus {
  down = false;
  publishes = 0;
  constructor(readonly inner = new InProcessBus()) {}
  async publish(topic: string, messages: OutgoingMessage[]) {
    this.publishes += 1;
    if (this.down) throw new Error('broker unreachable');
    return this.inner.publish(topic, messages);
  }
  subscribe = (o: Parameters<MessageBus['subscribe']>[0]) => this.inner.subscribe(o);
  ping = () => this.inner.ping();
  close = () => this.inner.close();
}

describe('RequestRecorder', () => {
  let clock = 0;
  const now = () => clock;
  const logger = { warn: jest.fn(), error: jest.fn() };
  let bus: FlakyBus;
  let received: BusMessage[];

  beforeEach(async () => {
    clock = 1_000_000;
    logger.warn.mockReset();
    logger.error.mockReset();
    bus = new FlakyBus();
    received = [];
    await bus.subscribe({ topic: Topics.requests, groupId: 'test', fromBeginning: true, handleBatch: async (m) => (received.push(...m), m.map(() => ok)) });
  });
  afterEach(() => bus.close());

  /** Lets the scheduled flush and the bus's delivery (both setImmediate chains) run; no wall clock. */
  const settle = async () => {
    for (let i = 0; i < 10; i++) await new Promise((resolve) => setImmediate(resolve));
  };
  const make = (over: Partial<ConstructorParameters<typeof RequestRecorder>[1]> = {}) =>
    new RequestRecorder(bus, { bufferLimit: 10, batchSize: 4, flushIntervalMs: 1000, retryDelayMs: [100, 400], now, logger, ...over });

  it('publishes a full batch at once, keyed by workloadId, and the rest on flush', async () => {
    const recorder = make();
    for (let i = 0; i < 5; i++) recorder.record(record(i, i % 2 ? W2 : W1));
    expect(bus.publishes).toBe(0); // record() never publishes inline
    await settle();
    expect(received.map((m) => m.value)).toEqual([0, 1, 2, 3, 4].map((i) => record(i, i % 2 ? W2 : W1)));
    expect(received.map((m) => m.key)).toEqual([W1, W2, W1, W2, W1]);
    expect(recorder.stats()).toMatchObject({ buffered: 0, recorded: 5, published: 5, dropped: 0 });
  });

  it('holds a partial batch until the interval flush', async () => {
    const recorder = make();
    recorder.record(record(1));
    await settle();
    expect(received).toHaveLength(0);
    await recorder.tick();
    await settle();
    expect(received).toHaveLength(1);
  });

  it('when full, drops the newest records and counts them; warns at most every 10 s', async () => {
    const recorder = make({ batchSize: 100 });
    for (let i = 0; i < 13; i++) recorder.record(record(i));
    expect(recorder.stats()).toMatchObject({ buffered: 10, recorded: 10, dropped: 3 });
    await recorder.tick();
    await settle();
    expect(received.map((m) => (m.value as RequestRecord).id)).toEqual(Array.from({ length: 10 }, (_, i) => `r${i}`));
    expect(logger.warn).toHaveBeenCalledTimes(1);
    expect(logger.warn.mock.calls[0][0]).toMatch(/^3 request records dropped/);
    for (let i = 0; i < 12; i++) recorder.record(record(100 + i));
    await recorder.tick();
    expect(logger.warn).toHaveBeenCalledTimes(1);
    clock += 10_000;
    await recorder.tick();
    expect(logger.warn).toHaveBeenCalledTimes(2);
    expect(recorder.stats().dropped).toBe(5);
  });

  it('keeps records through a publish outage, backs off exponentially, then delivers them in order', async () => {
    const recorder = make({ batchSize: 3 });
    bus.down = true;
    for (let i = 0; i < 3; i++) recorder.record(record(i));
    await settle();
    expect(bus.publishes).toBe(1);
    expect(recorder.stats()).toMatchObject({ buffered: 3, publishFailures: 1, lastError: 'broker unreachable' });

    await recorder.tick(); // within the 100 ms back-off: no attempt
    expect(bus.publishes).toBe(1);
    clock += 100;
    await recorder.tick();
    expect(bus.publishes).toBe(2);
    clock += 100; // the back-off doubled to 200 ms
    await recorder.tick();
    expect(bus.publishes).toBe(2);
    clock += 100;
    await recorder.tick();
    expect(bus.publishes).toBe(3);

    // The bound holds while failing: 10 kept, the newest dropped.
    for (let i = 3; i < 12; i++) recorder.record(record(i));
    expect(recorder.stats()).toMatchObject({ buffered: 10, dropped: 2 });

    bus.down = false;
    clock += 10_000;
    await recorder.tick();
    await settle();
    expect(received.map((m) => (m.value as RequestRecord).id)).toEqual(Array.from({ length: 10 }, (_, i) => `r${i}`));
    expect(recorder.stats()).toMatchObject({ buffered: 0, published: 10, dropped: 2 });
  });

  it('flushes what is left at shutdown, and counts what could not be published', async () => {
    const recorder = make({ batchSize: 100 });
    recorder.record(record(1));
    recorder.record(record(2));
    await recorder.onApplicationShutdown();
    await settle();
    expect(received).toHaveLength(2);
    recorder.record(record(3));
    expect(recorder.stats().dropped).toBe(1);

    const stuck = make({ batchSize: 100, shutdownTimeoutMs: 30, now: Date.now });
    bus.down = true;
    stuck.record(record(4));
    await stuck.onApplicationShutdown();
    expect(stuck.stats()).toMatchObject({ buffered: 0, dropped: 1 });
    expect(logger.error).toHaveBeenCalledWith(expect.stringMatching(/^1 request records were not published before shutdown/));
  });
});
