import type { RuntimeSettings } from '@wcp/contracts';
import { autoscalingOf, initialReplicasOf, replicasOf } from './proton-spec';

function runtime(group: Partial<RuntimeSettings['containerGroups'][number]>): RuntimeSettings {
  return { containerGroups: [{ name: 'default', replicaCount: null, autoscaling: null, resourceBundles: [], containers: [], ...group }] };
}
const autoscaled = (min: number, max: number, enabled = true) =>
  runtime({ autoscaling: { enabled, minReplicaCount: min, maxReplicaCount: max, policies: [{ scalingMetric: 'httpRequestsConcurrency', target: 2 }], cooldownPeriodMinutes: null } });

describe('replica counts of a runtime', () => {
  it('starts an autoscaled group at its floor, at least one (scale to zero comes later)', () => {
    expect(replicasOf(autoscaled(0, 4))).toBe(1);
    expect(replicasOf(autoscaled(2, 4))).toBe(2);
    expect(replicasOf(runtime({ replicaCount: 3 }))).toBe(3);
  });

  it('sees autoscaling only when enabled', () => {
    expect(autoscalingOf(autoscaled(1, 4))).not.toBeNull();
    expect(autoscalingOf(autoscaled(1, 4, false))).toBeNull();
    expect(autoscalingOf(runtime({ replicaCount: 1 }))).toBeNull();
  });

  it('gives an autoscaled candidate the previous proton\'s count, within its bounds', () => {
    expect(initialReplicasOf(autoscaled(1, 4), 3)).toBe(3);
    expect(initialReplicasOf(autoscaled(1, 2), 3)).toBe(2);
    expect(initialReplicasOf(autoscaled(2, 6), 0)).toBe(2);
    expect(initialReplicasOf(autoscaled(0, 6), 0)).toBe(1);
    // A fixed count is what it says, whatever ran before.
    expect(initialReplicasOf(runtime({ replicaCount: 2 }), 5)).toBe(2);
  });
});
