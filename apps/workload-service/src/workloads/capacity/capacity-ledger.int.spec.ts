import { requireMongo, uniqueName } from '@wcp/testing';
import mongoose, { Connection } from 'mongoose';
import type { WorkloadServiceConfig } from '../../config';
import { AggregateRepository } from '../../event-store/aggregate.repository';
import { CommitPipeline } from '../../event-store/commit.pipeline';
import { MongoEventStore } from '../../event-store/mongo.event-store';
import { MongoReadModelStore } from '../../read-models/mongo.read-model-store';
import type { ReadModelStore } from '../../read-models/read-model-store';
import { WORKLOADS } from '../projections/workload.projection';
import { CapacityReleaseSaga } from './capacity-release.saga';
import { CapacityLedger, withReservation } from './capacity-ledger.service';

const Mi = 1024 ** 2;
const config = { RUNTIME_MAX_MEMORY: 1024 * Mi } as WorkloadServiceConfig;
const hold = (memoryMi: number) => ({ cpu: 0.5, memory: memoryMi * Mi, replicas: 1 });
const NOW = '2026-12-03T10:00:00.000Z';

/**
 * Admission is serialised by the event store, not by where commands run: ledgers of separate
 * "instances" (their own store objects and caches, one database) racing for the last capacity
 * admit exactly what fits.
 */
describe('capacity ledger on FerretDB', () => {
  let connection: Connection;
  const instance = () => {
    const store = new MongoEventStore(connection);
    return { store, ledger: new CapacityLedger(new AggregateRepository(store, new CommitPipeline(store, {} as ReadModelStore, [])), config) };
  };

  beforeAll(async () => {
    connection = await mongoose.createConnection(requireMongo(), { dbName: uniqueName('capacity') }).asPromise();
    await instance().store.init();
  });

  afterAll(async () => {
    await connection?.close();
  });

  it('admits exactly two of eight concurrent 512 MiB reservations from four instances into 1 GiB', async () => {
    const instances = [instance(), instance(), instance(), instance()];
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => instances[i % 4].ledger.reserve(`w${i}`, hold(512), null, NOW)));
    expect(results.filter((r) => r === null)).toHaveLength(2);
    for (const refusal of results.filter((r) => r !== null)) expect(refusal).toMatchObject({ kind: 'forbidden', code: 'RUNTIME_CAPACITY_EXCEEDED' });
    const state = await instance().ledger.state();
    expect([...state.holdings.values()].reduce((sum, h) => sum + h.holding.memory, 0)).toBe(1024 * Mi);
    // Released, the capacity goes to the next one.
    const [first] = [...state.holdings.keys()];
    await instances[0].ledger.release(first, NOW);
    expect(await instances[1].ledger.reserve('late', hold(512), null, NOW)).toBeNull();
    expect(await instances[2].ledger.reserve('later', hold(512), null, NOW)).toMatchObject({ code: 'RUNTIME_CAPACITY_EXCEEDED' });
  });

  it('gives a reservation back when the commit it admitted fails, and keeps it when the commit was made already', async () => {
    const { ledger } = instance();
    const holdsNow = async () => (await ledger.state()).holdings;
    for (const id of (await holdsNow()).keys()) await ledger.release(id, NOW);

    const failed = await withReservation(ledger, { workloadId: 'a', holding: hold(1024), previous: null, actor: null, now: NOW, alreadyAdmitted: async () => false }, async () => ({ ok: false as const, error: { kind: 'conflict' as const, code: 'X', message: 'no' } }));
    expect(failed.ok).toBe(false);
    expect((await holdsNow()).has('a')).toBe(false);
    // A running workload's settings that fail to apply keep what it held before.
    await ledger.reserve('b', hold(256), null, NOW);
    await withReservation(ledger, { workloadId: 'b', holding: hold(768), previous: hold(256), actor: null, now: NOW, alreadyAdmitted: async () => false }, async () => ({ ok: false as const }));
    expect((await holdsNow()).get('b')?.holding).toEqual(hold(256));
    // A redelivery of a committed command is answered without a second look at the ledger (which would refuse now).
    await ledger.reserve('c', hold(768), null, NOW);
    const redelivered = await withReservation(ledger, { workloadId: 'd', holding: hold(512), previous: null, actor: null, now: NOW, alreadyAdmitted: async () => true }, async () => ({ ok: true as const }));
    expect(redelivered).toEqual({ ok: true });
  });

  it('reconciles with the read model: releases what stopped workloads still hold (past the grace), records running workloads it did not count', async () => {
    const { ledger } = instance();
    for (const id of (await ledger.state()).holdings.keys()) await ledger.release(id, NOW);
    const readModels = new MongoReadModelStore(connection);
    const runtime = (memory: number) => ({ containerGroups: [{ name: 'default', replicaCount: 2, autoscaling: null, resourceBundles: [], containers: [{ name: 'main', resourceAllocation: { cpu: 0.25, memory, gpu: null } }] }] });
    await readModels.put(WORKLOADS, { _id: 'stopped-one', status: 'stopped', runtime: runtime(128 * Mi) });
    await readModels.put(WORKLOADS, { _id: 'running-uncounted', status: 'running', runtime: runtime(128 * Mi) });
    await readModels.put(WORKLOADS, { _id: 'starting-counted', status: 'launching', runtime: runtime(128 * Mi) });
    await ledger.reserve('stopped-one', hold(512), null, '2026-12-03T11:00:00.000Z');
    await ledger.reserve('starting-counted', hold(256), null, '2026-12-03T11:00:00.000Z');
    // (Times after the earlier tests': a stream's event times never go backwards.) Reserved a moment ago: its start may be committing; left alone.
    await ledger.reserve('just-reserved', hold(64), null, '2026-12-03T11:59:50.000Z');

    const saga = new CapacityReleaseSaga(ledger, readModels, { RUNTIME_RESYNC_MS: 60_000 } as WorkloadServiceConfig);
    expect(await saga.reconcile(Date.parse('2026-12-03T12:00:00.000Z'))).toEqual({ released: ['stopped-one'], recorded: ['running-uncounted'] });
    const holdings = (await ledger.state()).holdings;
    expect([...holdings.keys()].sort()).toEqual(['just-reserved', 'running-uncounted', 'starting-counted']);
    expect(holdings.get('running-uncounted')?.holding).toEqual({ cpu: 0.5, memory: 256 * Mi, replicas: 2 });
    // A second pass finds nothing to do.
    expect(await saga.reconcile(Date.parse('2026-12-03T12:00:00.000Z'))).toEqual({ released: [], recorded: [] });
  });
});
