import type { ConcurrencySample, RuntimeSettings } from '@wcp/contracts';
import { Topics } from '@wcp/contracts';
import { InProcessBus } from '@wcp/messaging';
import { waitFor } from '@wcp/testing';
import type { CommandBus } from '@nestjs/cqrs';
import { loadConfig } from '../../config';
import type { ReadModelStore } from '../../read-models/read-model-store';
import type { RuntimeDriver } from '../../runtime';
import type { ScaleProtonCommand } from '../commands/scale-proton/scale-proton.command';
import { AutoscalerSaga } from './autoscaler.saga';

const W = 'aaaaaaaaaaaaaaaaaaaaaaaa';
const P = 'p-active';
const C = 'p-candidate';

function runtime(min: number, max: number, policy: { scalingMetric: 'httpRequestsConcurrency' | 'cpuAverageUtilization'; target: number } = { scalingMetric: 'httpRequestsConcurrency', target: 2 }): RuntimeSettings {
  return {
    containerGroups: [
      {
        name: 'default',
        replicaCount: null,
        autoscaling: { enabled: true, minReplicaCount: min, maxReplicaCount: max, policies: [policy], cooldownPeriodMinutes: 0 },
        resourceBundles: [],
        containers: [{ name: 'main', resourceAllocation: { cpu: 0.5, memory: 1, gpu: null } }],
      },
    ],
  };
}

function sample(over: Partial<ConcurrencySample>): ConcurrencySample {
  return { type: 'concurrency.sample', schemaVersion: 1, gatewayId: 'g1', workloadId: W, protonId: P, at: new Date().toISOString(), windowMs: 100, averageInFlight: 0, maxInFlight: 0, held: 0, ...over };
}

/** The loop against an in-process bus, a fake runtime and read model, and a command bus that records. */
async function loop(
  docs: { workload: Record<string, unknown>; protons?: Record<string, unknown>; replacement?: Record<string, unknown> },
  ready: Record<string, number> = {},
  cpuUsage: () => Map<string, Array<{ replica: string; pid: number; cpuSeconds: number }>> = () => new Map(),
) {
  const bus = new InProcessBus();
  const commands: ScaleProtonCommand[] = [];
  const driver = {
    snapshot: () => ({}),
    readyEndpoints: (id: string) => Array.from({ length: ready[id] ?? 0 }, (_, i) => ({ replica: `${id}-${i}`, address: '', url: '' })),
    cpuUsage,
  } as unknown as RuntimeDriver;
  const readModels = {
    find: async () => [docs.workload],
    get: async (collection: string, id: string) => (collection === 'replacements' ? docs.replacement : docs.protons?.[id]) ?? null,
  } as unknown as ReadModelStore;
  const commandBus = { execute: async (c: ScaleProtonCommand) => (commands.push(c), { scaled: { ...c.decision }, error: null }) } as unknown as CommandBus;
  const config = loadConfig({ AUTOSCALER_TICK_MS: '50', AUTOSCALER_STABLE_WINDOW_MS: '1000', AUTOSCALER_PANIC_WINDOW_MS: '300' });
  const saga = new AutoscalerSaga(driver, readModels, config, bus, commandBus);
  await saga.start();
  const publish = (...samples: ConcurrencySample[]) => bus.publish(Topics.concurrency, samples.map((s) => ({ key: s.workloadId, value: s })));
  return { saga, commands, publish, stop: async () => (await saga.shutdown(), await bus.close()) };
}

describe('AutoscalerSaga', () => {
  it('scales a proton at zero at once on a held sample, to ceil(held / target)', async () => {
    const l = await loop({ workload: { _id: W, status: 'running', protonId: P, runtime: runtime(0, 5) }, protons: { [P]: { _id: P, scale: { desired: 0 } } } });
    try {
      // Let the first tick find the proton.
      await new Promise((r) => setTimeout(r, 120));
      await l.publish(sample({ held: 3, averageInFlight: 0 }));
      const c = await waitFor(async () => l.commands[0], 'a scale command', 2000, 5);
      expect(c.decision).toMatchObject({ protonId: P, from: 0, to: 2, mode: 'from-zero', metric: 'httpRequestsConcurrency', target: 2, observed: 3 });
      expect(l.commands).toHaveLength(1);
    } finally {
      await l.stop();
    }
  });

  it('sums the newest sample of each gateway (an older one of the same gateway does not count)', async () => {
    const l = await loop({ workload: { _id: W, status: 'running', protonId: P, runtime: runtime(1, 10) } }, { [P]: 1 });
    try {
      const now = Date.now();
      await l.publish(
        sample({ gatewayId: 'g1', averageInFlight: 4, at: new Date(now).toISOString() }),
        sample({ gatewayId: 'g1', averageInFlight: 40, at: new Date(now - 5000).toISOString() }),
        sample({ gatewayId: 'g2', averageInFlight: 4, at: new Date(now).toISOString() }),
      );
      // 8 in flight over 1 ready, target 2: panic to 4 (never to 20).
      const c = await waitFor(async () => l.commands.find((x) => x.decision.to === 4), 'scale to 4', 3000, 10);
      expect(c.decision).toMatchObject({ protonId: P, mode: 'panic' });
      expect(l.commands.every((x) => x.decision.to <= 4)).toBe(true);
    } finally {
      await l.stop();
    }
  });

  it('reads CPU per replica as % of its allocation, summed, for cpuAverageUtilization', async () => {
    // Two replicas, each burning half a core: 100 % of their 0.5-core allocation each, 200 in all; target 50 → 4.
    const t0 = Date.now();
    const burn = () => new Map([[P, [0, 1].map((i) => ({ replica: `${P}-${i}`, pid: 100 + i, cpuSeconds: ((Date.now() - t0) / 1000) * 0.5 }))]]);
    const l = await loop({ workload: { _id: W, status: 'running', protonId: P, runtime: runtime(1, 6, { scalingMetric: 'cpuAverageUtilization', target: 50 }) }, protons: { [P]: { _id: P, scale: { desired: 2 } } } }, { [P]: 2 }, burn);
    try {
      const c = await waitFor(async () => l.commands.find((x) => x.decision.to === 4), 'scale to 4 on CPU', 3000, 10);
      expect(c.decision).toMatchObject({ metric: 'cpuAverageUtilization', target: 50 });
      expect(c.decision.observed).toBeGreaterThan(150);
      expect(c.decision.observed).toBeLessThan(250);
    } finally {
      await l.stop();
    }
  });

  it('during a replacement scales the candidate, never below the rollout\'s count, and leaves the outgoing proton alone', async () => {
    const replacement = { _id: 'r1', state: { kind: 'present', status: 'promoting', phase: 'rollout', rolledBack: false, rollbackOutcome: null, candidateProtonId: C, candidateDesired: 2, runtime: runtime(1, 6) } };
    const l = await loop({ workload: { _id: W, status: 'running', protonId: P, replacementLock: 'r1', runtime: runtime(1, 6) }, replacement }, { [P]: 1, [C]: 2 });
    try {
      await new Promise((r) => setTimeout(r, 120));
      await l.publish(sample({ protonId: P, averageInFlight: 20 }), sample({ protonId: C, averageInFlight: 10 }));
      // 10 in flight at target 2: 5, as the windows' means rise; starting from the rollout's 2.
      await waitFor(async () => l.commands.find((x) => x.decision.to === 5), 'the candidate at 5', 3000, 10);
      expect(l.commands[0].decision).toMatchObject({ protonId: C, from: 2 });
      expect(l.commands.every((x) => x.decision.protonId === C && x.decision.to > x.decision.from)).toBe(true);
    } finally {
      await l.stop();
    }
  });
});
