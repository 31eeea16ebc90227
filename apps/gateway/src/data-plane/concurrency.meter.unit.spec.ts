import type { ConcurrencySample } from '@wcp/contracts';
import { ConcurrencyMeter, ProtonGauge, windowOf } from './concurrency.meter';

function meter() {
  let t = 0;
  const published: ConcurrencySample[] = [];
  const bus = { publish: async (_topic: string, messages: Array<{ value: unknown }>) => void published.push(...messages.map((m) => m.value as ConcurrencySample)) };
  const m = new ConcurrencyMeter(bus, { sampleMs: 1000, gatewayId: 'gw-1', now: () => t, clock: () => new Date(1_700_000_000_000 + t) });
  return { m, published, at: (ms: number) => (t = ms) };
}

describe('ProtonGauge', () => {
  it('integrates the in-flight level over time (time-weighted mean) and keeps the max', () => {
    const g = new ProtonGauge('w', 'p', 0);
    g.change(1, 0, 0);
    g.change(1, 0, 250); // 2 from 250
    g.change(-2, 0, 750); // 0 from 750
    expect(windowOf(g, 1000)).toEqual({ averageInFlight: 1.25, maxInFlight: 2, windowMs: 1000 });
  });

  it('counts held requests in the level', () => {
    const g = new ProtonGauge('w', 'p', 0);
    g.change(0, 3, 500);
    expect(windowOf(g, 1000)).toMatchObject({ averageInFlight: 1.5, maxInFlight: 3 });
  });
});

describe('ConcurrencyMeter', () => {
  it('publishes one sample per proton per window, a last 0 when it goes quiet, then nothing', () => {
    const { m, published, at } = meter();
    const a = m.started('w1', 'p1', 0);
    const b = m.started('w1', 'p1', 0);
    m.started('w2', 'p2', 500);
    m.ended(a, 500);
    at(1000);
    m.flush();
    expect(published.map((s) => [s.protonId, s.averageInFlight, s.maxInFlight])).toEqual([
      ['p1', 1.5, 2],
      ['p2', 0.5, 1],
    ]);
    expect(published[0]).toMatchObject({ type: 'concurrency.sample', schemaVersion: 1, gatewayId: 'gw-1', workloadId: 'w1', windowMs: 1000, held: 0 });
    m.ended(b, 1000);
    at(2000);
    m.flush();
    // p1 went quiet: its 0; p2 still has one in flight.
    expect(published.slice(2).map((s) => [s.protonId, s.averageInFlight])).toEqual([
      ['p1', 0],
      ['p2', 1],
    ]);
    at(3000);
    m.flush();
    expect(published.slice(4).map((s) => s.protonId)).toEqual(['p2']);
    expect(m.size).toBe(1);
  });

  it('publishes at once when requests are held, and carries `held` until it changes', () => {
    const { m, published, at } = meter();
    at(200);
    m.publishNow('w1', 'p1', 4);
    expect(published).toEqual([expect.objectContaining({ protonId: 'p1', held: 4, maxInFlight: 4 })]);
    at(1000);
    m.flush();
    expect(published[1]).toMatchObject({ held: 4, averageInFlight: 3.2 });
    m.publishNow('w1', 'p1', 0);
    at(2000);
    m.flush();
    expect(published[3]).toMatchObject({ held: 0, averageInFlight: 0 });
  });

  it('never fails a caller when the bus is down', async () => {
    const m = new ConcurrencyMeter({ publish: () => Promise.reject(new Error('down')) }, { sampleMs: 1000, now: () => 0, logger: { warn: () => undefined } });
    m.started('w', 'p', 0);
    expect(() => m.flush()).not.toThrow();
    await new Promise((r) => setImmediate(r));
  });
});
