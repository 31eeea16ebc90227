import { decideRelease, decideReserve, evolveCapacity, initialCapacityState, staleReservations, type CapacityEvent, type CapacityState } from './capacity-ledger.decider';

const Mi = 1024 ** 2;
const limits = { maxCpu: 2, maxMemory: 1024 * Mi, maxReplicas: null };
const hold = (memoryMi: number, cpu = 0.5, replicas = 1) => ({ cpu, memory: memoryMi * Mi, replicas });
const apply = (state: CapacityState, decided: CapacityEvent[] | { code: string }, occurredAt = '2026-12-03T10:00:00.000Z') => {
  if (!Array.isArray(decided)) throw new Error(`refused: ${decided.code}`);
  return decided.reduce((s, e) => evolveCapacity(s, { ...e, occurredAt }), state);
};

describe('capacity ledger decider', () => {
  it('admits reservations while they fit beside the others, and refuses the one that does not', () => {
    let state = apply(initialCapacityState, decideReserve(initialCapacityState, 'a', hold(512), limits));
    state = apply(state, decideReserve(state, 'b', hold(256), limits));
    const refused = decideReserve(state, 'c', hold(512), limits);
    expect(refused).toMatchObject({ kind: 'forbidden', code: 'RUNTIME_CAPACITY_EXCEEDED', message: expect.stringContaining(`memory ${512 * Mi} bytes requested, ${768 * Mi} of ${1024 * Mi} bytes in use`) });
    expect(decideReserve(state, 'c', hold(256), limits)).toHaveLength(1);
  });

  it('replaces a workload\'s own reservation instead of adding to it; the same one again is a no-op', () => {
    let state = apply(initialCapacityState, decideReserve(initialCapacityState, 'a', hold(768), limits));
    expect(decideReserve(state, 'a', hold(768), limits)).toEqual([]);
    // 1 GiB fits when it replaces a's own 768 MiB, not beside it.
    state = apply(state, decideReserve(state, 'a', hold(1024), limits));
    expect(state.holdings.get('a')?.holding).toEqual(hold(1024));
    expect(decideReserve(state, 'b', hold(1), limits)).toMatchObject({ code: 'RUNTIME_CAPACITY_EXCEEDED' });
  });

  it('releases what a workload holds, and nothing for a workload that holds nothing', () => {
    let state = apply(initialCapacityState, decideReserve(initialCapacityState, 'a', hold(1024), limits));
    expect(decideRelease(state, 'b')).toEqual([]);
    state = apply(state, decideRelease(state, 'a'));
    expect(state.holdings.size).toBe(0);
    expect(decideReserve(state, 'b', hold(1024), limits)).toHaveLength(1);
  });

  it('finds reservations to reconcile: inactive workloads only, and only older than the grace', () => {
    let state = apply(initialCapacityState, decideReserve(initialCapacityState, 'old-stopped', hold(100), limits), '2026-12-03T09:00:00.000Z');
    state = apply(state, decideReserve(state, 'old-running', hold(100), limits), '2026-12-03T09:00:00.000Z');
    state = apply(state, decideReserve(state, 'young-starting', hold(100), limits), '2026-12-03T09:59:30.000Z');
    const active = new Set(['old-running']);
    expect(staleReservations(state, (id) => active.has(id), '2026-12-03T09:59:00.000Z')).toEqual(['old-stopped']);
  });
});
