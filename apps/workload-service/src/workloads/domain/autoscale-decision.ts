import type { RuntimeSettings } from '@wcp/contracts';

/** A container group's autoscaling settings (spec §2), as stored. */
export type AutoscalingSettings = NonNullable<RuntimeSettings['containerGroups'][number]['autoscaling']>;
export type ScalingMetric = AutoscalingSettings['policies'][number]['scalingMetric'];

/**
 * The autoscaling rule (docs/autoscaling.md), Knative's KPA on our two metrics. Pure: the loop
 * (AutoscalerSaga) hands in what it observed, the clock as a number, and the state it keeps;
 * the answer says how many replicas the proton should have and why.
 *
 * Per policy: desired = ceil(observed / target), with `observed` averaged over the stable
 * window and over the (shorter) panic window. Panic starts when the panic-window desired is at
 * least `panicThreshold` × the ready replicas; in panic the count only goes up (to the panic
 * desired), and panic ends a stable window after the condition was last seen. Out of panic the
 * stable desired rules. With several policies the largest desired wins. The result is clamped
 * to [min, max]; a scale-down waits a full stable window of observation (no decision on half a
 * window after a boot) and the cooldown since the previous scale-down.
 */

/** One tick of observation of one proton. Times are epoch milliseconds. */
export interface ScaleSample {
  at: number;
  /** In-flight requests, summed over gateways (each gateway's newest sample at this tick). */
  concurrency: number;
  /** Requests held by the data plane (scaled to zero, or coming up from zero), summed over gateways. */
  held: number;
  /**
   * Sum over the proton's replicas of each one's CPU use as % of its allocated CPU (two replicas
   * at 50 % = 100). Null when nothing could be read at this tick.
   */
  cpuPercent: number | null;
}

/** What the loop remembers of one proton between ticks (only `desired` survives a restart, from the stream). */
export interface AutoscalerState {
  /** The replica count last decided (the proton's desired count now). */
  desired: number;
  /** In panic until this time (ms), or null. */
  panicUntil: number | null;
  /** When the last scale-down was decided (ms), or null. */
  lastScaleDownAt: number | null;
  /** When this loop started observing the proton (ms): scale-downs wait one stable window after it. */
  observingSince: number;
}

export interface AutoscalerOptions {
  stableWindowMs: number;
  panicWindowMs: number;
  /** Panic when panic desired ≥ this × ready replicas (Knative's 200 % is 2). */
  panicThreshold: number;
  /** Cooldown between scale-downs when the policy's cooldownPeriodMinutes is null (minutes). */
  defaultCooldownMinutes: number;
}

export type ScaleMode = 'stable' | 'panic' | 'from-zero' | 'to-zero' | 'bounds';

export interface ScaleDecision {
  desired: number;
  /** The metric of the policy whose desired won (the first policy when none had data). */
  metric: ScalingMetric;
  /** Its observed value: mean in-flight requests, or CPU % summed over replicas. */
  observed: number;
  target: number;
  /** Index of that policy in `autoscaling.policies`. */
  policy: number;
  mode: ScaleMode;
  reason: string;
  state: AutoscalerState;
}

/** Scale to zero exists for HTTP concurrency only (spec §2): CPU says nothing about an idle proton. */
export function scalesToZero(settings: AutoscalingSettings): boolean {
  return settings.minReplicaCount === 0 && settings.policies.length > 0 && settings.policies.every((p) => p.scalingMetric === 'httpRequestsConcurrency');
}

/** The lowest replica count the autoscaler may decide. */
export function floorOf(settings: AutoscalingSettings): number {
  return scalesToZero(settings) ? 0 : Math.max(1, settings.minReplicaCount);
}

export function cooldownMsOf(settings: AutoscalingSettings, options: Pick<AutoscalerOptions, 'defaultCooldownMinutes'>): number {
  return (settings.cooldownPeriodMinutes ?? options.defaultCooldownMinutes) * 60_000;
}

interface PolicyView {
  index: number;
  metric: ScalingMetric;
  target: number;
  stable: number | null;
  panic: number | null;
}

function valueOf(sample: ScaleSample, metric: ScalingMetric): number | null {
  return metric === 'httpRequestsConcurrency' ? sample.concurrency : sample.cpuPercent;
}

function mean(samples: readonly ScaleSample[], metric: ScalingMetric, from: number, to: number): number | null {
  let sum = 0;
  let n = 0;
  for (const s of samples) {
    if (s.at <= from || s.at > to) continue;
    const v = valueOf(s, metric);
    if (v === null) continue;
    sum += v;
    n += 1;
  }
  return n === 0 ? null : sum / n;
}

function desiredOf(observed: number, target: number): number {
  // A tiny epsilon keeps 8 / 2 = 4.000000001 from asking for 5.
  return Math.ceil(observed / target - 1e-9);
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}

/**
 * The replica count a proton should have now. `samples` are this proton's ticks, oldest first
 * (older than the stable window are ignored); `ready` its ready replicas now.
 */
export function decideScale(
  samples: readonly ScaleSample[],
  settings: AutoscalingSettings,
  state: AutoscalerState,
  ready: number,
  now: number,
  options: AutoscalerOptions,
): ScaleDecision {
  const floor = floorOf(settings);
  const ceiling = Math.max(floor, settings.maxReplicaCount);
  const clamp = (n: number) => Math.min(ceiling, Math.max(floor, n));
  const views: PolicyView[] = settings.policies.map((p, index) => ({
    index,
    metric: p.scalingMetric,
    target: p.target,
    stable: mean(samples, p.scalingMetric, now - options.stableWindowMs, now),
    panic: mean(samples, p.scalingMetric, now - options.panicWindowMs, now),
  }));
  const first: PolicyView = views[0] ?? { index: 0, metric: 'httpRequestsConcurrency', target: 1, stable: null, panic: null };
  const answer = (desired: number, view: PolicyView, observed: number, mode: ScaleMode, reason: string, next: AutoscalerState = state): ScaleDecision => ({
    desired,
    metric: view.metric,
    observed: round(observed),
    target: view.target,
    policy: view.index,
    mode,
    reason,
    state: next,
  });

  // From zero nothing waits for a window: a held request is a caller waiting for a cold start.
  const latest = samples.length > 0 ? samples[samples.length - 1] : null;
  if (state.desired === 0 && latest && (latest.held > 0 || latest.concurrency > 0)) {
    const concurrency = views.find((v) => v.metric === 'httpRequestsConcurrency') ?? first;
    const observed = Math.max(latest.held, latest.concurrency);
    const desired = clamp(Math.max(1, desiredOf(observed, concurrency.target)));
    // As in KPA (no ready replica is always over the threshold), a cold start is a panic: the
    // count holds for a stable window instead of following a mean still full of idle ticks.
    return answer(desired, concurrency, observed, 'from-zero', `${observed} request(s) waiting for a proton scaled to zero`, { ...state, panicUntil: now + options.stableWindowMs });
  }

  // The largest desired wins, per window; a policy without data in a window has no say there.
  let stableWinner: PolicyView | null = null;
  let stableDesired = -1;
  let panicWinner: PolicyView | null = null;
  let panicDesired = -1;
  for (const v of views) {
    if (v.stable !== null && desiredOf(v.stable, v.target) > stableDesired) {
      stableDesired = desiredOf(v.stable, v.target);
      stableWinner = v;
    }
    if (v.panic !== null && desiredOf(v.panic, v.target) > panicDesired) {
      panicDesired = desiredOf(v.panic, v.target);
      panicWinner = v;
    }
  }
  if (!stableWinner || !panicWinner) {
    // No data: keep the count, within bounds (settings may have changed under it).
    const kept = clamp(state.desired);
    return answer(kept, first, 0, 'bounds', kept === state.desired ? 'no samples' : `kept within [${floor}, ${ceiling}]`);
  }

  const overThreshold = panicDesired >= options.panicThreshold * Math.max(1, ready) && panicDesired > ready;
  let panicUntil = state.panicUntil;
  if (overThreshold) panicUntil = now + options.stableWindowMs;
  else if (panicUntil !== null && now >= panicUntil) panicUntil = null;
  const next: AutoscalerState = { ...state, panicUntil };

  if (panicUntil !== null) {
    // In panic the count never goes down.
    const desired = clamp(Math.max(state.desired, panicDesired));
    const reason = `panic: ${round(panicWinner.panic!)} over the ${options.panicWindowMs / 1000} s panic window, target ${panicWinner.target} (${ready} ready)`;
    return answer(desired, panicWinner, panicWinner.panic!, desired === state.desired ? 'panic' : clampedMode(desired, panicDesired, 'panic'), reason, next);
  }

  const desired = clamp(stableDesired);
  if (desired >= state.desired) {
    const mode = clampedMode(desired, stableDesired, 'stable');
    return answer(desired, stableWinner, stableWinner.stable!, mode, stableReason(stableWinner, options, mode, floor, ceiling), next);
  }
  // A scale-down: only on a whole window of observation, and once per cooldown.
  const observedLongEnough = now - state.observingSince >= options.stableWindowMs;
  const cooled = state.lastScaleDownAt === null || now - state.lastScaleDownAt >= cooldownMsOf(settings, options);
  if (!observedLongEnough || !cooled) {
    const why = !observedLongEnough ? 'waiting for a whole stable window of samples' : 'cooling down since the last scale-down';
    return answer(state.desired, stableWinner, stableWinner.stable!, 'stable', `holding: ${why}`, next);
  }
  const mode: ScaleMode = desired === 0 ? 'to-zero' : clampedMode(desired, stableDesired, 'stable');
  const reason = desired === 0 ? `scaled to zero: no requests over the ${options.stableWindowMs / 1000} s stable window` : stableReason(stableWinner, options, mode, floor, ceiling);
  return answer(desired, stableWinner, stableWinner.stable!, mode, reason, { ...next, lastScaleDownAt: now });
}

function clampedMode(desired: number, wanted: number, mode: ScaleMode): ScaleMode {
  return desired === wanted ? mode : 'bounds';
}

function stableReason(v: PolicyView, options: AutoscalerOptions, mode: ScaleMode, floor: number, ceiling: number): string {
  const metric = v.metric === 'httpRequestsConcurrency' ? 'concurrent requests' : '% CPU';
  const base = `${round(v.stable!)} ${metric} over the ${options.stableWindowMs / 1000} s stable window, target ${v.target}`;
  return mode === 'bounds' ? `${base} (kept within [${floor}, ${ceiling}])` : base;
}
