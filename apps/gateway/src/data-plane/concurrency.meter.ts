import { Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { ConcurrencySample, Topics } from '@wcp/contracts';
import type { MessageBus } from '@wcp/messaging';
import { sampled } from '@wcp/metrics';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { performance } from 'node:perf_hooks';

/**
 * In-flight requests of one proton on this gateway, integrated over time. The forwarder keeps
 * a reference per request, so the hot path is one Map lookup at the start and two additions
 * at each end: no allocation per request.
 */
export class ProtonGauge {
  /** Requests forwarded and not finished. */
  inFlight = 0;
  /** Requests the data plane holds (scaled to zero), as its holding code last said. */
  held = 0;
  /** ∫ (inFlight + held) dt over the current window (request·ms). */
  area = 0;
  /** performance.now() of the last change, and of the window's start. */
  lastAt: number;
  windowStart: number;
  max = 0;
  /** A sample of 0 went out since the last traffic: the next quiet window publishes nothing. */
  quietReported = false;

  /** `windowStart`: the meter's current window, so a gauge born mid-window counts 0 before its first request. */
  constructor(readonly workloadId: string, readonly protonId: string, now: number, windowStart = now) {
    this.lastAt = now;
    this.windowStart = Math.min(windowStart, now);
  }

  /** Adds `delta` to the level (in flight + held) at `now`. */
  change(deltaInFlight: number, deltaHeld: number, now: number): void {
    this.area += (this.inFlight + this.held) * (now - this.lastAt);
    this.lastAt = now;
    this.inFlight += deltaInFlight;
    this.held += deltaHeld;
    const level = this.inFlight + this.held;
    if (level > this.max) this.max = level;
    if (level > 0) this.quietReported = false;
  }
}

/** The window's figures of one gauge at `now`; pure, for tests. */
export function windowOf(g: ProtonGauge, now: number): { averageInFlight: number; maxInFlight: number; windowMs: number } {
  const windowMs = Math.max(1, now - g.windowStart);
  const area = g.area + (g.inFlight + g.held) * (now - g.lastAt);
  return { averageInFlight: Math.round((area / windowMs) * 1000) / 1000, maxInFlight: Math.max(g.max, g.inFlight + g.held), windowMs: Math.round(windowMs) };
}

export interface ConcurrencyMeterOptions {
  /** DATA_PLANE_CONCURRENCY_SAMPLE_MS */
  sampleMs: number;
  gatewayId?: string;
  now?: () => number;
  clock?: () => Date;
  logger?: Pick<Logger, 'warn'>;
}

const WARN_EVERY_MS = 10_000;

/**
 * The data plane's half of `httpRequestsConcurrency` autoscaling (docs/autoscaling.md), like
 * Knative's queue-proxy reporting to its autoscaler: counts in-flight requests per (workload,
 * proton), and every `sampleMs` publishes one ConcurrencySample per proton that had traffic
 * (time-weighted mean and max of the window) on `workload.concurrency.v1`, keyed by workloadId.
 * A proton that goes quiet gets one last sample of 0, then nothing until its next request.
 * Samples are gauges, so a failed publish is dropped (warned about, rate-limited), never retried.
 *
 * `publishNow` is for the request-holding code: when it starts holding requests for a proton
 * scaled to zero it says how many, and a sample goes out at once instead of at the window's end.
 */
export class ConcurrencyMeter implements OnModuleInit, OnApplicationShutdown {
  readonly gatewayId: string;
  private readonly gauges = new Map<string, ProtonGauge>();
  private timer: NodeJS.Timeout | null = null;
  private readonly now: () => number;
  private readonly clock: () => Date;
  private readonly logger: Pick<Logger, 'warn'>;
  private lastWarnAt = Number.NEGATIVE_INFINITY;
  private dropped = 0;
  private unsample: Array<() => void> = [];
  /** Start of the current window (the last flush). */
  private windowStart: number;

  constructor(private readonly bus: Pick<MessageBus, 'publish'>, private readonly options: ConcurrencyMeterOptions) {
    this.gatewayId = options.gatewayId ?? `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
    this.now = options.now ?? (() => performance.now());
    this.clock = options.clock ?? (() => new Date());
    this.logger = options.logger ?? new Logger('ConcurrencyMeter');
    this.windowStart = this.now();
  }

  onModuleInit(): void {
    this.timer ??= setInterval(() => this.flush(), this.options.sampleMs).unref();
    this.unsample = [
      sampled('gauge', 'wcp_data_plane_in_flight', 'Requests in flight through this gateway\'s data plane (forwarded, plus held), all protons.', [], (add) => {
        let n = 0;
        for (const g of this.gauges.values()) n += g.inFlight + g.held;
        add({}, n);
      }),
      sampled('counter', 'wcp_concurrency_samples_dropped_total', 'Concurrency samples the bus refused (autoscaling saw a gap; never retried: they are gauges).', [], (add) => add({}, this.dropped)),
    ];
  }

  onApplicationShutdown(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    for (const u of this.unsample) u();
    this.unsample = [];
  }

  /** A request to a replica of `protonId` started; the caller hands the gauge back to `ended`. */
  started(workloadId: string, protonId: string, now: number): ProtonGauge {
    let g = this.gauges.get(protonId);
    if (!g) {
      g = new ProtonGauge(workloadId, protonId, now, this.windowStart);
      this.gauges.set(protonId, g);
    }
    g.change(1, 0, now);
    return g;
  }

  /** The request ended (answered, failed or abandoned): exactly once per `started`. */
  ended(g: ProtonGauge, now: number): void {
    g.change(-1, 0, now);
  }

  /** The request-holding code holds `held` requests for this proton now: a sample goes out at once. */
  publishNow(workloadId: string, protonId: string, held: number): void {
    const now = this.now();
    let g = this.gauges.get(protonId);
    if (!g) {
      g = new ProtonGauge(workloadId, protonId, now, this.windowStart);
      this.gauges.set(protonId, g);
    }
    g.change(0, Math.max(0, held) - g.held, now);
    this.publish([this.sampleOf(g, now)]);
  }

  /** Closes the window of every gauge: one sample each, a last 0 for the quiet ones, forgets those already reported quiet. */
  flush(): void {
    const now = this.now();
    this.windowStart = now;
    const samples: ConcurrencySample[] = [];
    for (const [protonId, g] of this.gauges) {
      const sample = this.sampleOf(g, now);
      const quiet = sample.averageInFlight === 0 && g.inFlight + g.held === 0;
      if (quiet && g.quietReported) {
        this.gauges.delete(protonId);
        continue;
      }
      if (quiet) g.quietReported = true;
      samples.push(sample);
      g.area = 0;
      g.lastAt = now;
      g.windowStart = now;
      g.max = g.inFlight + g.held;
    }
    this.publish(samples);
  }

  /** Gauges alive, for tests and metrics. */
  get size(): number {
    return this.gauges.size;
  }

  private sampleOf(g: ProtonGauge, now: number): ConcurrencySample {
    const w = windowOf(g, now);
    return {
      type: 'concurrency.sample',
      schemaVersion: 1,
      gatewayId: this.gatewayId,
      workloadId: g.workloadId,
      protonId: g.protonId,
      at: this.clock().toISOString(),
      windowMs: w.windowMs,
      averageInFlight: w.averageInFlight,
      maxInFlight: w.maxInFlight,
      held: g.held,
    };
  }

  private publish(samples: ConcurrencySample[]): void {
    if (samples.length === 0) return;
    this.bus.publish(Topics.concurrency, samples.map((s) => ({ key: s.workloadId, value: s }))).catch((error: unknown) => {
      this.dropped += samples.length;
      const t = Date.now();
      if (t - this.lastWarnAt < WARN_EVERY_MS) return;
      this.lastWarnAt = t;
      this.logger.warn(`concurrency samples dropped (autoscaling sees a gap): ${error instanceof Error ? error.message : String(error)}`);
    });
  }
}
