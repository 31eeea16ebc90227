import { AutoscalerOptions, AutoscalerState, AutoscalingSettings, decideScale, floorOf, ScaleSample, scalesToZero } from './autoscale-decision';

const options: AutoscalerOptions = { stableWindowMs: 60_000, panicWindowMs: 6_000, panicThreshold: 2, defaultCooldownMinutes: 5 };
const concurrency = (target: number) => ({ scalingMetric: 'httpRequestsConcurrency' as const, target });
const cpu = (target: number) => ({ scalingMetric: 'cpuAverageUtilization' as const, target });

function settings(over: Partial<AutoscalingSettings> = {}): AutoscalingSettings {
  return { enabled: true, minReplicaCount: 1, maxReplicaCount: 10, policies: [concurrency(2)], cooldownPeriodMinutes: 0, ...over };
}

function state(over: Partial<AutoscalerState> = {}): AutoscalerState {
  return { desired: 1, panicUntil: null, lastScaleDownAt: null, observingSince: 0, ...over };
}

/** One sample per second for `seconds` seconds ending at `end` (ms), with `value` as concurrency and cpu. */
function steady(end: number, seconds: number, c: number, cpuPercent: number | null = null, held = 0): ScaleSample[] {
  return Array.from({ length: seconds }, (_, i) => ({ at: end - (seconds - 1 - i) * 1000, concurrency: c, held, cpuPercent }));
}

const NOW = 1_000_000;

describe('decideScale: stable window', () => {
  it('is ceil(mean concurrency / target) over the stable window', () => {
    const d = decideScale(steady(NOW, 60, 5), settings(), state({ desired: 3 }), 3, NOW, options);
    expect(d).toMatchObject({ desired: 3, metric: 'httpRequestsConcurrency', observed: 5, target: 2, policy: 0, mode: 'stable' });
  });

  it('ignores samples older than the stable window', () => {
    const samples = [...steady(NOW - 61_000, 30, 100), ...steady(NOW, 60, 2)];
    expect(decideScale(samples, settings(), state(), 1, NOW, options).desired).toBe(1);
  });

  it('does not ask for one more replica on an exact multiple', () => {
    expect(decideScale(steady(NOW, 60, 8), settings(), state({ desired: 4 }), 4, NOW, options).desired).toBe(4);
  });

  it('scales up out of panic when below the threshold (3 ready, wants 5)', () => {
    const d = decideScale(steady(NOW, 60, 10), settings(), state({ desired: 3 }), 3, NOW, options);
    expect(d).toMatchObject({ desired: 5, mode: 'stable' });
    expect(d.state.panicUntil).toBeNull();
  });

  it('clamps to [min, max] and says so', () => {
    expect(decideScale(steady(NOW, 60, 100), settings({ maxReplicaCount: 4 }), state({ desired: 4 }), 4, NOW, options)).toMatchObject({ desired: 4 });
    const low = decideScale(steady(NOW, 60, 0), settings({ minReplicaCount: 2 }), state({ desired: 3 }), 3, NOW, options);
    expect(low).toMatchObject({ desired: 2, mode: 'bounds' });
  });

  it('keeps the count without samples, but inside the bounds', () => {
    expect(decideScale([], settings(), state({ desired: 3 }), 3, NOW, options)).toMatchObject({ desired: 3, reason: 'no samples' });
    expect(decideScale([], settings({ maxReplicaCount: 2 }), state({ desired: 3 }), 3, NOW, options).desired).toBe(2);
  });
});

describe('decideScale: panic', () => {
  it('enters panic when the panic desired is twice the ready replicas, and scales up at once', () => {
    // 6 s of 8 in flight after 54 s of nothing: the stable mean (0.8) would keep 1.
    const samples = [...steady(NOW - 6000, 54, 0), ...steady(NOW, 6, 8)];
    const d = decideScale(samples, settings(), state({ desired: 1 }), 1, NOW, options);
    expect(d).toMatchObject({ desired: 4, mode: 'panic', observed: 8 });
    expect(d.state.panicUntil).toBe(NOW + options.stableWindowMs);
  });

  it('does not panic below the threshold', () => {
    const samples = [...steady(NOW - 6000, 54, 0), ...steady(NOW, 6, 3)];
    // panic desired 2 with 2 ready: no panic; stable mean 0.3 → 1, but a whole window is needed to go down.
    const d = decideScale(samples, settings(), state({ desired: 2, observingSince: NOW - 1000 }), 2, NOW, options);
    expect(d.state.panicUntil).toBeNull();
    expect(d.desired).toBe(2);
  });

  it('never scales down in panic', () => {
    const d = decideScale(steady(NOW, 60, 0), settings(), state({ desired: 6, panicUntil: NOW + 10_000 }), 6, NOW, options);
    expect(d).toMatchObject({ desired: 6, mode: 'panic' });
  });

  it('leaves panic a stable window after the condition was last seen', () => {
    const d = decideScale(steady(NOW, 60, 2), settings(), state({ desired: 6, panicUntil: NOW }), 6, NOW, options);
    expect(d.state.panicUntil).toBeNull();
    expect(d).toMatchObject({ desired: 1, mode: 'stable' });
  });

  it('takes its threshold from the options', () => {
    const samples = [...steady(NOW - 6000, 54, 0), ...steady(NOW, 6, 3)];
    const d = decideScale(samples, settings(), state({ desired: 1 }), 1, NOW, { ...options, panicThreshold: 1.5 });
    expect(d).toMatchObject({ desired: 2, mode: 'panic' });
  });
});

describe('decideScale: scale-down', () => {
  it('waits a whole stable window of observation (no flapping to min after a boot)', () => {
    const d = decideScale(steady(NOW, 10, 0), settings(), state({ desired: 4, observingSince: NOW - 10_000 }), 4, NOW, options);
    expect(d.desired).toBe(4);
    expect(d.reason).toMatch(/whole stable window/);
  });

  it('waits the cooldown since the previous scale-down (fractional minutes)', () => {
    const s = settings({ cooldownPeriodMinutes: 0.5 });
    expect(decideScale(steady(NOW, 60, 2), s, state({ desired: 3, lastScaleDownAt: NOW - 20_000 }), 3, NOW, options).desired).toBe(3);
    const d = decideScale(steady(NOW, 60, 2), s, state({ desired: 3, lastScaleDownAt: NOW - 30_000 }), 3, NOW, options);
    expect(d.desired).toBe(1);
    expect(d.state.lastScaleDownAt).toBe(NOW);
  });

  it('uses the default cooldown when the settings give none', () => {
    const s = settings({ cooldownPeriodMinutes: null });
    expect(decideScale(steady(NOW, 60, 2), s, state({ desired: 3, lastScaleDownAt: NOW - 4 * 60_000 }), 3, NOW, options).desired).toBe(3);
    expect(decideScale(steady(NOW, 60, 2), s, state({ desired: 3, lastScaleDownAt: NOW - 5 * 60_000 }), 3, NOW, options).desired).toBe(1);
  });
});

describe('decideScale: several policies', () => {
  it('lets the largest desired win and names its policy', () => {
    // concurrency 2 / 2 → 1; cpu 300 % summed / 60 → 5.
    const d = decideScale(steady(NOW, 60, 2, 300), settings({ policies: [concurrency(2), cpu(60)] }), state({ desired: 5 }), 5, NOW, options);
    expect(d).toMatchObject({ desired: 5, metric: 'cpuAverageUtilization', policy: 1, observed: 300, target: 60 });
  });

  it('lets a policy without data have no say', () => {
    const d = decideScale(steady(NOW, 60, 6, null), settings({ policies: [cpu(50), concurrency(2)] }), state({ desired: 3 }), 3, NOW, options);
    expect(d).toMatchObject({ desired: 3, metric: 'httpRequestsConcurrency', policy: 1 });
  });
});

describe('decideScale: zero', () => {
  const zero = settings({ minReplicaCount: 0 });

  it('scales to zero only with HTTP concurrency policies and min 0', () => {
    expect(scalesToZero(zero)).toBe(true);
    expect(scalesToZero(settings({ minReplicaCount: 0, policies: [concurrency(2), cpu(50)] }))).toBe(false);
    expect(floorOf(settings({ minReplicaCount: 0, policies: [cpu(50)] }))).toBe(1);
  });

  it('goes to zero after a whole stable window without requests', () => {
    const d = decideScale(steady(NOW, 60, 0), zero, state({ desired: 1 }), 1, NOW, options);
    expect(d).toMatchObject({ desired: 0, mode: 'to-zero' });
    expect(d.reason).toMatch(/scaled to zero/);
  });

  it('stays at one while any request was seen in the window', () => {
    const samples = [...steady(NOW - 1000, 59, 0), { at: NOW, concurrency: 0.1, held: 0, cpuPercent: null }];
    expect(decideScale(samples, zero, state({ desired: 1 }), 1, NOW, options).desired).toBe(1);
  });

  it('comes back from zero at once on a held request, without waiting for a window', () => {
    const samples = [...steady(NOW - 1000, 59, 0), { at: NOW, concurrency: 0, held: 5, cpuPercent: null }];
    const d = decideScale(samples, zero, state({ desired: 0, lastScaleDownAt: NOW - 1000 }), 0, NOW, options);
    expect(d).toMatchObject({ desired: 3, mode: 'from-zero', observed: 5 });
    // And holds it for a stable window (panic), though the stable mean is still mostly idle.
    expect(d.state.panicUntil).toBe(NOW + options.stableWindowMs);
    const later = [...samples, ...steady(NOW + 3000, 3, 0.5)];
    expect(decideScale(later, zero, { ...d.state, desired: 3 }, 3, NOW + 3000, options).desired).toBe(3);
  });

  it('comes back from zero to at least one on any in-flight request', () => {
    const samples = [{ at: NOW, concurrency: 0.2, held: 0, cpuPercent: null }];
    expect(decideScale(samples, zero, state({ desired: 0 }), 0, NOW, options).desired).toBe(1);
  });

  it('stays at zero while idle', () => {
    expect(decideScale(steady(NOW, 60, 0), zero, state({ desired: 0 }), 0, NOW, options).desired).toBe(0);
  });
});

// ---------------------------------------------------------------------------------------------
// Oracle: an independent, deliberately plain model of the same rules, run against decideScale
// over seeded random load; a failure prints its seed and reproduces with it.

function mulberry32(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface ModelState {
  desired: number;
  panicUntil: number | null;
  lastDown: number | null;
}

/** The rules as the docs state them, one line each, with no shared helper. */
function model(samples: ScaleSample[], s: AutoscalingSettings, m: ModelState, ready: number, now: number, since: number, o: AutoscalerOptions): ModelState {
  const toZero = s.minReplicaCount === 0 && s.policies.every((p) => p.scalingMetric === 'httpRequestsConcurrency');
  const lo = toZero ? 0 : Math.max(1, s.minReplicaCount);
  const hi = Math.max(lo, s.maxReplicaCount);
  const bound = (n: number) => Math.min(hi, Math.max(lo, n));
  const last = samples[samples.length - 1];
  if (m.desired === 0 && last && (last.held > 0 || last.concurrency > 0)) {
    const t = s.policies.find((p) => p.scalingMetric === 'httpRequestsConcurrency')!.target;
    return { ...m, panicUntil: now + o.stableWindowMs, desired: bound(Math.max(1, Math.ceil(Math.max(last.held, last.concurrency) / t - 1e-9))) };
  }
  const want = (windowMs: number) => {
    const inWindow = samples.filter((x) => x.at > now - windowMs && x.at <= now);
    const per = s.policies
      .map((p) => {
        const values = inWindow.map((x) => (p.scalingMetric === 'httpRequestsConcurrency' ? x.concurrency : x.cpuPercent)).filter((v): v is number => v !== null);
        return values.length ? Math.ceil(values.reduce((a, b) => a + b, 0) / values.length / p.target - 1e-9) : null;
      })
      .filter((v): v is number => v !== null);
    return per.length ? Math.max(...per) : null;
  };
  const stable = want(o.stableWindowMs);
  const panic = want(o.panicWindowMs);
  if (stable === null || panic === null) return { ...m, desired: bound(m.desired) };
  let panicUntil = m.panicUntil;
  if (panic >= o.panicThreshold * Math.max(1, ready) && panic > ready) panicUntil = now + o.stableWindowMs;
  else if (panicUntil !== null && now >= panicUntil) panicUntil = null;
  if (panicUntil !== null) return { ...m, panicUntil, desired: bound(Math.max(m.desired, panic)) };
  const next = bound(stable);
  if (next >= m.desired) return { ...m, panicUntil, desired: next };
  const cooldown = (s.cooldownPeriodMinutes ?? o.defaultCooldownMinutes) * 60_000;
  if (now - since < o.stableWindowMs || (m.lastDown !== null && now - m.lastDown < cooldown)) return { ...m, panicUntil };
  return { desired: next, panicUntil, lastDown: now };
}

describe('decideScale against an independent model (seeded)', () => {
  const o: AutoscalerOptions = { stableWindowMs: 6000, panicWindowMs: 2000, panicThreshold: 2, defaultCooldownMinutes: 0.05 };

  for (const seed of [1, 7, 42, 1234, 98765, 31337, 2024, 555]) {
    it(`agrees tick by tick with the model (seed ${seed})`, () => {
      const rnd = mulberry32(seed);
      const policies: AutoscalingSettings['policies'] = rnd() < 0.5 ? [concurrency(1 + Math.floor(rnd() * 4))] : [concurrency(2), cpu(40 + Math.floor(rnd() * 60))];
      const min = policies.every((p) => p.scalingMetric === 'httpRequestsConcurrency') && rnd() < 0.5 ? 0 : 1 + Math.floor(rnd() * 2);
      const s = settings({ minReplicaCount: min, maxReplicaCount: min + 2 + Math.floor(rnd() * 8), policies, cooldownPeriodMinutes: rnd() < 0.3 ? null : rnd() * 0.1 });
      let st: AutoscalerState = state({ desired: Math.max(1, min), observingSince: 0 });
      let m: ModelState = { desired: st.desired, panicUntil: null, lastDown: null };
      const samples: ScaleSample[] = [];
      let load = 0;
      const seen = new Set<string>();
      for (let tick = 1; tick <= 400; tick++) {
        const now = tick * 250;
        // Bursts, lulls and silences: a random walk that sometimes jumps.
        const r = rnd();
        if (r < 0.05) load = 0;
        else if (r < 0.1) load = Math.floor(rnd() * 20);
        else load = Math.max(0, load + (rnd() - 0.5) * 2);
        const idle = load < 0.5;
        samples.push({ at: now, concurrency: idle ? 0 : load, held: st.desired === 0 && !idle ? Math.ceil(load) : 0, cpuPercent: rnd() < 0.1 ? null : load * 20 });
        while (samples.length && samples[0].at <= now - o.stableWindowMs) samples.shift();
        const ready = rnd() < 0.8 ? st.desired : Math.max(0, st.desired - 1);
        const d = decideScale(samples, s, st, ready, now, o);
        m = model(samples, s, m, ready, now, 0, o);
        expect({ seed, tick, desired: d.desired, panicUntil: d.state.panicUntil, lastDown: d.state.lastScaleDownAt }).toEqual({ seed, tick, desired: m.desired, panicUntil: m.panicUntil, lastDown: m.lastDown });
        // Invariants, whatever the model says.
        expect(d.desired).toBeGreaterThanOrEqual(floorOf(s));
        expect(d.desired).toBeLessThanOrEqual(s.maxReplicaCount);
        if (st.panicUntil !== null && d.state.panicUntil !== null) expect(d.desired).toBeGreaterThanOrEqual(st.desired);
        if (d.desired !== st.desired) seen.add(d.desired > st.desired ? `up-${d.mode}` : `down-${d.mode}`);
        st = { ...d.state, desired: d.desired };
      }
      // The run exercised the rules rather than sitting still.
      if (seen.size < 2) throw new Error(`seed ${seed} exercised only ${[...seen].join(",")} with ${JSON.stringify(s)}`);
    });
  }
});
