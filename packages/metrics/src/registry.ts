import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * One registry per process: embedded mode runs the three apps in one process, and each series is
 * defined once here and shared, so its `/metrics` is the merged view without duplicate
 * registrations. Every definition is get-or-create by name.
 */
export const registry = new Registry();
collectDefaultMetrics({ register: registry });

/** Seconds buckets for requests and commands: 1 ms to 10 s. */
export const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export function counter<L extends string>(name: string, help: string, labelNames: readonly L[] = []): Counter<L> {
  return (registry.getSingleMetric(name) as Counter<L> | undefined) ?? new Counter({ name, help, labelNames, registers: [registry] });
}

export function histogram<L extends string>(name: string, help: string, labelNames: readonly L[] = [], buckets = LATENCY_BUCKETS): Histogram<L> {
  return (registry.getSingleMetric(name) as Histogram<L> | undefined) ?? new Histogram({ name, help, labelNames, buckets, registers: [registry] });
}

type Labels = Record<string, string | number>;
/** Called at scrape time; reports each value with `add` (values of several sources in one process add up). */
export type Sampler = (add: (labels: Labels, value: number) => void) => void | Promise<void>;

interface Sampled {
  samplers: Set<Sampler>;
}

/**
 * A gauge (or a counter kept by its owner, such as the request recorder's drops) read at scrape
 * time from the objects that know the value: nothing is done per event. Several instances in
 * one process (embedded mode, tests) each add a sampler; their values are summed per label set.
 * Returns a function that removes the sampler (call it on shutdown).
 */
export function sampled(kind: 'gauge' | 'counter', name: string, help: string, labelNames: readonly string[], sampler: Sampler): () => void {
  let metric = registry.getSingleMetric(name) as (Gauge | Counter) & Partial<Sampled>;
  if (!metric) {
    const samplers = new Set<Sampler>();
    const options = {
      name,
      help,
      labelNames,
      registers: [registry],
      async collect(this: Gauge | Counter) {
        this.reset();
        const add = (labels: Labels, value: number) => (this as Gauge).inc(labels, value);
        // A sampler that fails (a broker unreachable) leaves its series out of this scrape.
        await Promise.all([...samplers].map(async (s) => s(add)).map((p) => p.catch(() => undefined)));
      },
    };
    metric = Object.assign(kind === 'gauge' ? new Gauge(options) : new Counter(options), { samplers });
  }
  metric.samplers!.add(sampler);
  return () => void metric.samplers!.delete(sampler);
}

export function metricsText(): Promise<string> {
  return registry.metrics();
}

/**
 * `GET /metrics` off a node server, ahead of any framework: false when `req` is not for it.
 * Unauthenticated unless `token` is set (then `Authorization: Bearer <token>`).
 */
export function serveMetrics(req: IncomingMessage, res: ServerResponse, token?: string): boolean {
  const url = req.url ?? '';
  if (url !== '/metrics' && !url.startsWith('/metrics?')) return false;
  const answer = (status: number, body: string, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', ...headers });
    res.end(body);
  };
  if (req.method !== 'GET' && req.method !== 'HEAD') answer(405, `${req.method} is not served on /metrics; it serves GET, HEAD.\n`, { allow: 'GET, HEAD' });
  else if (token && req.headers.authorization !== `Bearer ${token}`) answer(401, 'A valid metrics token is required (METRICS_TOKEN).\n', { 'www-authenticate': 'Bearer' });
  else
    metricsText().then(
      (text) => answer(200, req.method === 'HEAD' ? '' : text, { 'content-type': registry.contentType }),
      (error: unknown) => answer(500, `metrics collection failed: ${error instanceof Error ? error.message : String(error)}\n`),
    );
  return true;
}
