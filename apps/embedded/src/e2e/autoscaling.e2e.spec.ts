import { ConcurrencySample, Topics, WorkloadIntegrationEvent } from '@wcp/contracts';
import { KafkaBus } from '@wcp/messaging';
import { requireKafka, waitFor } from '@wcp/testing';
import { replicaProcesses } from './replica-processes';
import { startDistributedSystem, startEmbeddedSystem, System } from './system.harness';

/**
 * Autoscaling that acts (docs/autoscaling.md), through the gateway's data plane: slow echo
 * requests raise the concurrency the gateway reports, the autoscaler scales the proton, and
 * every change is a Proton Scaled event. Windows are shortened so the test runs in seconds:
 * stable 6 s, panic 2 s, tick 250 ms, samples every 250 ms, cooldown 0.05 min (3 s).
 */
const STABLE_MS = 6000;
const PANIC_MS = 2000;
const COOLDOWN_MINUTES = 0.05;
const ENV = {
  AUTOSCALER_STABLE_WINDOW_MS: String(STABLE_MS),
  AUTOSCALER_PANIC_WINDOW_MS: String(PANIC_MS),
  AUTOSCALER_TICK_MS: '250',
  DATA_PLANE_CONCURRENCY_SAMPLE_MS: '250',
  DATA_PLANE_ROUTE_CACHE_MS: '250',
  REPLICA_READY_TIMEOUT_MS: '10000',
  STOP_GRACE_MS: '3000',
};

const artifact = (name: string) => ({
  name,
  spec: { containerGroups: [{ name: 'default', containers: [{ name: 'main', primary: true, imageUri: 'local/echo-model:1', port: 8000 }] }] },
});

const autoscaled = (min: number, max: number) => ({
  containerGroups: [
    {
      name: 'default',
      replicaCount: null,
      autoscaling: { enabled: true, minReplicaCount: min, maxReplicaCount: max, policies: [{ scalingMetric: 'httpRequestsConcurrency', target: 2 }], cooldownPeriodMinutes: COOLDOWN_MINUTES },
      containers: [{ name: 'main', resourceAllocation: { cpu: 0.5, memory: '256Mi' } }],
    },
  ],
});

interface ScaledEvent {
  timestamp: string;
  eventType: string;
  details: { protonId: string; from: number; to: number; metric: string; observed: number; target: number; policy: number; reason: string };
}

async function scaledEvents(system: System, id: string): Promise<ScaledEvent[]> {
  const events = (await system.api.get(`/api/v2/workloads/${id}/events?limit=100`)).body.data as ScaledEvent[];
  return events.filter((e) => e.eventType === 'Proton Scaled').reverse();
}

async function proton(system: System, id: string, protonId: string) {
  return (await system.api.get(`/api/v2/workloads/${id}/protons/${protonId}`)).body as { status: string; replicas: { desired: number; ready: number; reason: string | null } };
}

async function createRunning(system: System, name: string, min: number, max: number): Promise<{ id: string; protonId: string }> {
  const created = await system.api.post('/api/v2/workloads', { name, artifact: artifact(name), runtime: autoscaled(min, max) });
  expect(created.status).toBe(201);
  const id = created.body.id as string;
  const w = await waitFor(async () => {
    const body = (await system.api.get(`/api/v2/workloads/${id}`)).body;
    return body.status === 'running' ? body : undefined;
  }, `${name} running`, 30_000, 100);
  return { id, protonId: w.protonId as string };
}

describe('autoscaling on HTTP concurrency (embedded)', () => {
  let system: System;

  beforeAll(async () => {
    system = await startEmbeddedSystem(ENV);
  }, 120_000);

  afterAll(async () => {
    await system?.stop();
  });

  it('scales 1 → 4 under 8 concurrent slow requests within the panic window, back to 1 after the load, one event per step, no request failing', async () => {
    const { id, protonId } = await createRunning(system, 'autoscale-1-4', 1, 4);
    expect(await proton(system, id, protonId)).toMatchObject({ status: 'running', replicas: { desired: 1, ready: 1 } });

    // 8 callers, each sending 600 ms requests back to back: concurrency 8, target 2 → 4 replicas.
    const statuses: number[] = [];
    let loading = true;
    const loadStart = Date.now();
    const caller = async () => {
      while (loading) {
        const answer = await system.api.post(`/api/v2/endpoints/workloads/${id}/predict?delayMs=600`, { x: 1 });
        statuses.push(answer.status);
      }
    };
    const callers = Array.from({ length: 8 }, caller);

    const up = await waitFor(async () => {
      const p = await proton(system, id, protonId);
      return p.replicas.desired === 4 && p.replicas.ready === 4 ? Date.now() : undefined;
    }, '4 ready replicas', 30_000, 100);
    const scaledUp = (await scaledEvents(system, id)).find((e) => e.details.to === 4)!;
    const upDecisionMs = Date.parse(scaledUp.timestamp) - loadStart;
    // The workload stayed running all along: a scale-up is not a restart.
    expect((await system.api.get(`/api/v2/workloads/${id}`)).body.status).toBe('running');
    expect(replicaProcesses(protonId)).toHaveLength(4);

    // Keep the load a little longer on 4 replicas, then stop it.
    await new Promise((r) => setTimeout(r, 1500));
    loading = false;
    await Promise.all(callers);
    const loadEnd = Date.now();

    const down = await waitFor(async () => {
      const p = await proton(system, id, protonId);
      return p.replicas.desired === 1 && p.replicas.ready === 1 ? Date.now() : undefined;
    }, 'back to 1 replica', 60_000, 100);
    const events = await scaledEvents(system, id);
    const last = events.at(-1)!;
    const downDecisionMs = Date.parse(last.timestamp) - loadEnd;

    // No request failed: every answer came from a replica.
    expect(statuses.length).toBeGreaterThan(16);
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    // Each step is an event, chained from → to, from 1 up to 4 and down to 1, all on this proton.
    expect(events.length).toBeGreaterThanOrEqual(2);
    let count = 1;
    for (const e of events) {
      expect(e.details).toMatchObject({ protonId, from: count, metric: 'httpRequestsConcurrency', target: 2, policy: 0 });
      expect(e.details.to).not.toBe(e.details.from);
      count = e.details.to;
    }
    expect(Math.max(...events.map((e) => e.details.to))).toBe(4);
    expect(count).toBe(1);
    expect(scaledUp.details.reason).toMatch(/panic/);
    // No scale-down in panic, which lasts at least a stable window after the first panic decision.
    const firstUp = Date.parse(events[0].timestamp);
    const firstDown = events.find((e) => e.details.to < e.details.from)!;
    expect(Date.parse(firstDown.timestamp) - firstUp).toBeGreaterThanOrEqual(STABLE_MS);
    // Between two scale-downs, the cooldown.
    const downs = events.filter((e) => e.details.to < e.details.from).map((e) => Date.parse(e.timestamp));
    for (let i = 1; i < downs.length; i++) expect(downs[i] - downs[i - 1]).toBeGreaterThanOrEqual(COOLDOWN_MINUTES * 60_000);

    // Scaling never showed as a status change: the last Status Changed is still the first `running`.
    const history = (await system.api.get(`/api/v2/workloads/${id}/events?limit=100`)).body.data as Array<{ eventType: string; timestamp: string; details: { to?: string } }>;
    const statusChanges = history.filter((e) => e.eventType === 'Status Changed').reverse();
    expect(statusChanges.at(-1)!.details.to).toBe('running');
    expect(Date.parse(statusChanges.at(-1)!.timestamp)).toBeLessThan(loadStart);

    const details = (await system.api.get(`/api/v2/workloads/${id}/protons/${protonId}/statusDetails`)).body;
    expect(details.scale).toMatchObject({ desired: 1, ready: 1 });
    expect(details.replicas).toHaveLength(1);
    const steps = events.map((e) => `${e.details.from}→${e.details.to}`).join(', ');
    process.stdout.write(
      `autoscaling reaction: panic scale-up decided ${upDecisionMs} ms after the load began (4 ready after ${up - loadStart} ms); ` +
        `back to 1 decided ${downDecisionMs} ms after the load ended (1 ready after ${down - loadEnd} ms); steps ${steps}\n`,
    );
  }, 120_000);

  it('scales on CPU: CPU-bound requests over half of a quarter CPU scale 1 → 2+, and back to 1 when they stop', async () => {
    const runtime = {
      containerGroups: [
        {
          name: 'default',
          replicaCount: null,
          autoscaling: { enabled: true, minReplicaCount: 1, maxReplicaCount: 3, policies: [{ scalingMetric: 'cpuAverageUtilization', target: 50 }], cooldownPeriodMinutes: COOLDOWN_MINUTES },
          containers: [{ name: 'main', resourceAllocation: { cpu: 0.25, memory: '256Mi' } }],
        },
      ],
    };
    const created = await system.api.post('/api/v2/workloads', { name: 'autoscale-cpu', artifact: artifact('autoscale-cpu'), runtime });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    const { protonId } = await waitFor(async () => {
      const body = (await system.api.get(`/api/v2/workloads/${id}`)).body;
      return body.status === 'running' ? body : undefined;
    }, 'autoscale-cpu running', 30_000, 100);

    // Two callers of 50 ms-of-CPU requests keep a replica at (or, where CPU is only reported, above) its whole quarter CPU: 100 % of the allocation, twice the target.
    let loading = true;
    const statuses: number[] = [];
    const caller = async () => {
      while (loading) statuses.push((await system.api.post(`/api/v2/endpoints/workloads/${id}/predict?cpuMs=50`, { x: 1 })).status);
    };
    const callers = [caller(), caller()];
    const up = await waitFor(async () => (await scaledEvents(system, id)).find((e) => e.details.to >= 2), 'a scale-up on CPU', 30_000, 200);
    loading = false;
    await Promise.all(callers);
    expect(up.details).toMatchObject({ protonId, from: 1, metric: 'cpuAverageUtilization', target: 50, policy: 0 });
    expect(up.details.observed).toBeGreaterThan(50);
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    process.stdout.write(`autoscaling reaction: cpuAverageUtilization 50 % scaled 1 → ${up.details.to} at ${up.details.observed} % (${up.details.reason})\n`);

    const down = await waitFor(async () => {
      const p = await proton(system, id, protonId);
      return p.replicas.desired === 1 && p.replicas.ready === 1 ? p : undefined;
    }, 'back to 1 replica', 60_000, 200);
    expect(down.status).toBe('running');
    expect((await scaledEvents(system, id)).at(-1)?.details).toMatchObject({ to: 1, metric: 'cpuAverageUtilization' });
    expect((await system.api.post(`/api/v2/workloads/${id}/stop`, {})).status).toBe(202);
  }, 90_000);

  it('keeps a scaled-up count across a restart (from the stream, not the floor), then scales down as usual', async () => {
    const { id, protonId } = await createRunning(system, 'autoscale-restart', 1, 3);
    let loading = true;
    const caller = async () => {
      while (loading) await system.api.post(`/api/v2/endpoints/workloads/${id}/predict?delayMs=500`, {});
    };
    const callers = Array.from({ length: 6 }, caller);
    await waitFor(async () => ((await proton(system, id, protonId)).replicas.ready === 3 ? true : undefined), '3 ready replicas', 30_000, 100);
    loading = false;
    await Promise.all(callers);
    const before = (await scaledEvents(system, id)).length;

    await system.restart();
    const bootedAt = Date.now();
    // Right after boot it runs the stored count.
    expect((await proton(system, id, protonId)).replicas.desired).toBe(3);
    await waitFor(async () => (replicaProcesses(protonId).length === 3 ? true : undefined), '3 replica processes after the restart', 15_000, 100);
    // The autoscaler starts afresh (before the health check answers): it waits one whole stable window before any scale-down.
    await waitFor(async () => ((await proton(system, id, protonId)).replicas.desired === 1 ? true : undefined), 'down to 1 after the restart', 60_000, 100);
    expect(Date.now() - bootedAt).toBeGreaterThanOrEqual(STABLE_MS - 1000);
    const events = await scaledEvents(system, id);
    expect(events.slice(before).every((e) => e.details.to < e.details.from)).toBe(true);
  }, 120_000);

  it('rolls out new settings of an autoscaled workload under load: the candidate takes over at the running count, the outgoing proton is never scaled', async () => {
    const { id, protonId } = await createRunning(system, 'autoscale-rollout', 1, 4);
    let loading = true;
    const statuses: number[] = [];
    const caller = async () => {
      while (loading) statuses.push((await system.api.post(`/api/v2/endpoints/workloads/${id}/predict?delayMs=600`, {})).status);
    };
    const callers = Array.from({ length: 8 }, caller);
    await waitFor(async () => ((await proton(system, id, protonId)).replicas.ready === 4 ? true : undefined), '4 ready replicas', 30_000, 100);

    // Same policy, a higher max: the candidate's plan is the running 4, not its floor of 1.
    const patched = await system.api.patch(`/api/v2/workloads/${id}/settings`, { runtime: autoscaled(1, 6) });
    expect(patched.status).toBe(202);
    const startedAt = Date.now();
    const candidate = patched.body.candidateProtonIds[0] as string;
    await waitFor(async () => ((await system.api.get(`/api/v2/workloads/${id}`)).body.protonId === candidate ? true : undefined), 'the candidate to take over', 90_000, 100);
    // A rolling replacement hands over once the candidate has its whole count ready.
    expect((await proton(system, id, candidate)).replicas.ready).toBeGreaterThanOrEqual(4);
    loading = false;
    await Promise.all(callers);

    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    const events = await scaledEvents(system, id);
    // The outgoing proton was not scaled after the replacement started.
    expect(events.filter((e) => e.details.protonId === protonId && Date.parse(e.timestamp) >= startedAt)).toEqual([]);
  }, 150_000);

  it('takes a 0..3 workload to zero replicas when idle: still running, 0 ready, reason shown', async () => {
    const { id, protonId } = await createRunning(system, 'autoscale-zero', 0, 3);
    // It starts at one replica, and goes to zero after a whole stable window without requests.
    const idleSince = Date.now();
    const zero = await waitFor(async () => {
      const p = await proton(system, id, protonId);
      return p.replicas.desired === 0 && p.replicas.ready === 0 ? p : undefined;
    }, 'scaled to zero', 30_000, 100);
    const toZeroMs = Date.now() - idleSince;
    expect(toZeroMs).toBeGreaterThanOrEqual(STABLE_MS - 500);
    expect(zero.status).toBe('running');
    expect(zero.replicas.reason).toMatch(/scaled to zero/);
    expect((await system.api.get(`/api/v2/workloads/${id}`)).body.status).toBe('running');
    await waitFor(async () => (replicaProcesses(protonId).length === 0 ? true : undefined), 'no replica process left', 10_000, 100);

    // The drained replica leaves the status details when the driver's next report lands (it can trail the process exit).
    const details = await waitFor(async () => {
      const d = await system.api.get(`/api/v2/workloads/${id}/protons/${protonId}/statusDetails`);
      return d.status === 200 && d.body.replicas?.length === 0 ? d : undefined;
    }, 'status details without replicas', 10_000, 100);
    expect(details.body).toMatchObject({ overallStatus: { state: 'running', summary: expect.stringMatching(/scaled to zero/) }, replicas: [], scale: { desired: 0, ready: 0 } });
    const events = await scaledEvents(system, id);
    expect(events.map((e) => [e.details.from, e.details.to])).toEqual([[1, 0]]);
    // The event list shows no status change after running: zero replicas is not stopped or errored.
    const all = (await system.api.get(`/api/v2/workloads/${id}/events?limit=100`)).body.data as Array<{ eventType: string; details: { to?: string } }>;
    expect(all.filter((e) => e.eventType === 'Status Changed').map((e) => e.details.to)).not.toContain('stopped');
    expect(all.filter((e) => e.eventType === 'Status Changed').map((e) => e.details.to)).not.toContain('errored');
    // A request now would be held and start a replica: scale-to-zero.e2e.spec.ts. This one stays at zero for the restart below.
    const decidedMs = Date.parse(events[0].timestamp) - idleSince;
    expect(decidedMs).toBeGreaterThanOrEqual(STABLE_MS - 500);
    process.stdout.write(`autoscaling reaction: idle 0..3 workload scaled to zero ${decidedMs} ms after it became idle (0 ready, drained, after ${toZeroMs} ms)\n`);

    // A restart resumes at zero from the stream: no flapping back to the floor or to one replica.
    await system.restart();
    const after = await proton(system, id, protonId);
    expect(after).toMatchObject({ status: 'running', replicas: { desired: 0, ready: 0 } });
    await new Promise((r) => setTimeout(r, 1500));
    expect(replicaProcesses(protonId)).toHaveLength(0);
    expect((await scaledEvents(system, id)).length).toBe(1);
    expect((await system.api.get(`/api/v2/workloads/${id}`)).body.status).toBe('running');

    // Stopping it from zero works like any stop.
    expect((await system.api.post(`/api/v2/workloads/${id}/stop`, {})).status).toBe(202);
    await waitFor(async () => ((await system.api.get(`/api/v2/workloads/${id}`)).body.status === 'stopped' ? true : undefined), 'stopped', 20_000, 100);
  }, 90_000);
});

describe('autoscaling across Kafka (distributed: gateway samples → Kafka → workload service)', () => {
  let system: System;
  let bus: KafkaBus;
  const integration: WorkloadIntegrationEvent[] = [];
  const { DATA_PLANE_CONCURRENCY_SAMPLE_MS, DATA_PLANE_ROUTE_CACHE_MS, ...WS_ENV } = ENV;

  beforeAll(async () => {
    system = await startDistributedSystem({ 'workload-service': WS_ENV, gateway: { DATA_PLANE_CONCURRENCY_SAMPLE_MS, DATA_PLANE_ROUTE_CACHE_MS } });
    bus = new KafkaBus({ brokers: requireKafka(), clientId: 'autoscaling-e2e', namespace: system.kafkaNamespace });
    await bus.subscribe({
      topic: Topics.events,
      groupId: 'autoscaling-e2e-events',
      fromBeginning: true,
      handleBatch: async (messages) => messages.map((m) => (integration.push(m.value as WorkloadIntegrationEvent), { kind: 'ok' as const })),
    });
  }, 180_000);

  afterAll(async () => {
    await bus?.close();
    await system?.stop();
  });

  it('scales a 0..4 workload up under load, down to zero when idle (standby routes), and back at once on a held sample', async () => {
    const { id, protonId } = await createRunning(system, 'autoscale-dist', 0, 4);
    let loading = true;
    const statuses: number[] = [];
    const caller = async () => {
      while (loading) statuses.push((await system.api.post(`/api/v2/endpoints/workloads/${id}/predict?delayMs=600`, {})).status);
    };
    const callers = Array.from({ length: 8 }, caller);
    await waitFor(async () => ((await proton(system, id, protonId)).replicas.ready === 4 ? true : undefined), '4 ready replicas', 40_000, 100);
    loading = false;
    await Promise.all(callers);
    expect(statuses.filter((s) => s !== 200)).toEqual([]);

    // Idle: down, and after a whole stable window without requests, to zero; still running.
    const zero = await waitFor(async () => {
      const p = await proton(system, id, protonId);
      return p.replicas.desired === 0 && p.replicas.ready === 0 ? p : undefined;
    }, 'scaled to zero', 60_000, 100);
    expect(zero.status).toBe('running');
    expect((await system.api.get(`/api/v2/workloads/${id}`)).body.status).toBe('running');

    // The workload service's routes answer tells the data plane to hold requests.
    const w = (await system.api.get(`/api/v2/workloads/${id}`)).body;
    const actor = Buffer.from(JSON.stringify({ id: w.creator.id, username: w.creator.username, isAdmin: true, groupIds: [], orgId: null })).toString('base64url');
    const internal = system.metricsUrls['workload-service'].replace(/\/metrics$/, '');
    const routes = await (await fetch(`${internal}/internal/workloads/${id}/routes`, { headers: { 'x-wcp-actor': actor } })).json();
    expect(routes).toMatchObject({ workloadId: id, protonId, replicas: [], standby: true });

    // What a holding gateway publishes: 3 requests held. The proton comes back at once to ceil(3 / 2).
    const heldAt = Date.now();
    const held: ConcurrencySample = { type: 'concurrency.sample', schemaVersion: 1, gatewayId: 'e2e-holding-gateway', workloadId: id, protonId, at: new Date().toISOString(), windowMs: 250, averageInFlight: 3, maxInFlight: 3, held: 3 };
    await bus.publish(Topics.concurrency, [{ key: id, value: held }]);
    await waitFor(async () => ((await proton(system, id, protonId)).replicas.desired === 2 ? true : undefined), 'scaled from zero', 10_000, 50);
    const fromZeroMs = Date.now() - heldAt;
    await waitFor(async () => ((await proton(system, id, protonId)).replicas.ready >= 1 ? true : undefined), 'a ready replica', 20_000, 50);
    const readyMs = Date.now() - heldAt;
    expect((await system.api.post(`/api/v2/endpoints/workloads/${id}/predict`, {})).status).toBe(200);
    // Once a replica is ready there is nothing to hold.
    const after = (await (await fetch(`${internal}/internal/workloads/${id}/routes`, { headers: { 'x-wcp-actor': actor } })).json()) as { standby?: boolean };
    expect(after.standby).toBeUndefined();

    // Every decision is an integration event on Kafka too, in the stream's order.
    const steps = await waitFor(async () => {
      const scaled = integration.filter((e) => e.workloadId === id && e.eventType === 'Proton Scaled');
      return scaled.some((e) => e.details.mode === 'from-zero') ? scaled : undefined;
    }, 'Proton Scaled on Kafka', 10_000, 100);
    expect(steps[0].details).toMatchObject({ protonId, from: 1 });
    expect(steps.at(-1)!.details).toMatchObject({ from: 0, to: 2, mode: 'from-zero', observed: 3 });
    expect(steps.some((e) => e.details.to === 0)).toBe(true);
    process.stdout.write(`autoscaling reaction (distributed): from zero to 2 desired ${fromZeroMs} ms after a held sample, a ready replica after ${readyMs} ms\n`);
  }, 180_000);
});
