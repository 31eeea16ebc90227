import { normaliseRoutes, ReplicaRoutes } from './replica-router';
import { chooseGroup, isCandidateTurn, ReplicaSelector, retryPool } from './traffic-split';

const W = 'a1a1a1a1a1a1a1a1a1a1a1a1';
const OLD = 'p0p0p0p0p0p0p0p0p0p0p0p0';
const NEW = 'c1c1c1c1c1c1c1c1c1c1c1c1';
const route = (replica: string, protonId = OLD) => ({ replica, url: `http://127.0.0.1/${replica}`, protonId });

const table = (stable: string[], candidate: { percent: number; replicas: string[] } | null): ReplicaRoutes =>
  normaliseRoutes({
    workloadId: W,
    protonId: OLD,
    replicas: stable.map((r) => route(r)),
    candidate: candidate && { protonId: NEW, percent: candidate.percent, replicas: candidate.replicas.map((r) => route(r, NEW)) },
  });

/** The oracle: the exact share of n requests, which the split may miss by less than one request. */
const exact = (n: number, percent: number) => (n * percent) / 100;

describe('isCandidateTurn', () => {
  it.each([10, 33.3, 50, 0.1, 1, 12.5, 66.67, 99.9])('sends %p % of every prefix of 1,000 requests to the candidate, within one request', (percent) => {
    let toCandidate = 0;
    for (let n = 0; n < 1000; n++) {
      if (isCandidateTurn(n, percent)) toCandidate += 1;
      expect(Math.abs(toCandidate - exact(n + 1, percent))).toBeLessThan(1);
    }
  });

  it('holds the share in every window, also one starting mid-stream (a changed canary step)', () => {
    for (const [start, percent] of [[137, 10], [4_999, 33.3], [1e9 + 3, 50]] as const) {
      let toCandidate = 0;
      for (let n = start; n < start + 1000; n++) if (isCandidateTurn(n, percent)) toCandidate += 1;
      expect(Math.abs(toCandidate - exact(1000, percent))).toBeLessThanOrEqual(1);
    }
  });

  it('spreads the candidate share evenly instead of in bursts', () => {
    const turns = Array.from({ length: 20 }, (_, n) => (isCandidateTurn(n, 10) ? 'c' : '.')).join('');
    expect(turns).toBe('.........c.........c');
    expect(Array.from({ length: 4 }, (_, n) => isCandidateTurn(n, 50))).toEqual([false, true, false, true]);
  });

  it('sends nothing at 0 % and everything at 100 %', () => {
    for (let n = 0; n < 1000; n++) {
      expect(isCandidateTurn(n, 0)).toBe(false);
      expect(isCandidateTurn(n, 100)).toBe(true);
    }
  });
});

describe('chooseGroup', () => {
  const some: { replicas: string[] } = { replicas: ['s'] };
  const none: { replicas: string[] } = { replicas: [] };
  const cand = (percent: number, replicas: string[]) => ({ percent, replicas });

  it('without a candidate, the stable group, or nothing', () => {
    expect(chooseGroup(0, some, null)).toBe(some);
    expect(chooseGroup(0, none, null)).toBeNull();
  });

  it('follows the split while both groups have replicas', () => {
    const c = cand(50, ['c']);
    expect([0, 1, 2, 3].map((n) => chooseGroup(n, some, c))).toEqual([some, c, some, c]);
  });

  it('falls back to the other group when the chosen one has no replica; null when neither has', () => {
    const empty = cand(100, []);
    expect(chooseGroup(0, some, empty)).toBe(some);
    const full = cand(0, ['c']);
    expect(chooseGroup(0, none, full)).toBe(full);
    expect(chooseGroup(0, none, cand(50, []))).toBeNull();
  });
});

describe('ReplicaSelector', () => {
  it('splits 1,000 requests exactly by the candidate share, round robin within each group', () => {
    const selector = new ReplicaSelector();
    const routes = table(['s1', 's2'], { percent: 33.3, replicas: ['c1', 'c2', 'c3'] });
    const counts = new Map<string, number>();
    for (let i = 0; i < 1000; i++) {
      const r = selector.pick(routes);
      counts.set(r.replica, (counts.get(r.replica) ?? 0) + 1);
    }
    const candidate = (counts.get('c1') ?? 0) + (counts.get('c2') ?? 0) + (counts.get('c3') ?? 0);
    expect(Math.abs(candidate - 333)).toBeLessThanOrEqual(1);
    expect(counts.get('s1')! + counts.get('s2')!).toBe(1000 - candidate);
    expect(Math.abs(counts.get('s1')! - counts.get('s2')!)).toBeLessThanOrEqual(1);
    for (const c of ['c1', 'c2', 'c3']) expect(Math.abs(counts.get(c)! - candidate / 3)).toBeLessThanOrEqual(1);
  });

  it('counts turns per workload, independently', () => {
    const selector = new ReplicaSelector();
    const a = table(['s1'], { percent: 50, replicas: ['c1'] });
    const b = normaliseRoutes({ workloadId: 'b2b2b2b2b2b2b2b2b2b2b2b2', protonId: OLD, replicas: [route('t1')], candidate: { protonId: NEW, percent: 50, replicas: [route('d1', NEW)] } });
    const picks = [a, b, a, b, a, b].map((routes) => selector.pick(routes).replica);
    expect(picks).toEqual(['s1', 't1', 'c1', 'd1', 's1', 't1']);
  });

  it('carries each replica its own proton (a rolling table mixes both)', () => {
    const selector = new ReplicaSelector();
    const rolling = normaliseRoutes({ workloadId: W, protonId: OLD, replicas: [route('s1'), route('c1', NEW)] });
    expect(rolling.candidate).toBeNull();
    expect([selector.pick(rolling), selector.pick(rolling), selector.pick(rolling)].map((r) => [r.replica, r.protonId])).toEqual([
      ['s1', OLD],
      ['c1', NEW],
      ['s1', OLD],
    ]);
  });

  it('retries on another replica of the same group, else the other group, else the same replica', () => {
    const routes = table(['s1', 's2'], { percent: 50, replicas: ['c1'] });
    const [s1, s2] = routes.stable.replicas;
    const [c1] = routes.candidate!.replicas;
    expect(retryPool(routes, s1).replicas).toEqual([s2]);
    expect(retryPool(routes, c1)).toMatchObject({ group: routes.stable, replicas: [s1, s2] });
    const lone = table(['s1'], null);
    expect(retryPool(lone, lone.stable.replicas[0]).replicas).toEqual([lone.stable.replicas[0]]);
    const selector = new ReplicaSelector();
    expect(selector.retry(routes, s2)).toBe(s1);
  });
});

describe('normaliseRoutes', () => {
  it('reads older answers: no candidate, replicas without protonId belong to the table proton, no standby', () => {
    const routes = normaliseRoutes({ workloadId: W, protonId: OLD, replicas: [{ replica: 'r1', url: 'http://x' }] });
    expect(routes).toEqual({ workloadId: W, stable: { protonId: OLD, rotationKey: `${W}/${OLD}`, replicas: [{ replica: 'r1', url: 'http://x', protonId: OLD }] }, candidate: null, standby: false });
  });

  it('is on standby only with standby set and no replica in either group', () => {
    expect(normaliseRoutes({ workloadId: W, protonId: OLD, replicas: [], standby: true }).standby).toBe(true);
    expect(normaliseRoutes({ workloadId: W, protonId: OLD, replicas: [], standby: false }).standby).toBe(false);
    expect(normaliseRoutes({ workloadId: W, protonId: OLD, replicas: [{ replica: 'r1', url: 'http://x' }], standby: true }).standby).toBe(false);
    expect(normaliseRoutes({ workloadId: W, protonId: OLD, replicas: [], standby: true, candidate: { protonId: NEW, percent: 10, replicas: [route('c1', NEW)] } }).standby).toBe(false);
  });
});
