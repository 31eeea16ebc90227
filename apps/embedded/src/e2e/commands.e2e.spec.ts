import { waitForStatus } from './api.helpers';
import { replicaProcesses } from './replica-processes';
import { echoArtifact, startDistributedSystem, System } from './system.harness';

/**
 * Bounded waits and exactly-once effects across a crash: the gateway answers 504 when the
 * workload service is down; the command waits in Kafka, is applied when the service returns,
 * and a client retry with the same Idempotency-Key returns that result instead of a second
 * workload (deployed once: one start, one replica).
 */
describe('commands across a workload-service outage (distributed)', () => {
  let system: System;

  beforeAll(async () => {
    system = await startDistributedSystem({ gateway: { COMMAND_TIMEOUT_MS: '1500' } });
  }, 180_000);

  afterAll(async () => {
    await system?.stop();
  });

  it('answers 504 with a detail, then applies the command once', async () => {
    // The gateway has resolved the token once: it keeps trusting it while the service is down.
    expect((await system.api.get('/api/v2/workloads')).status).toBe(200);
    await system.kill('workload-service');
    const headers = { 'idempotency-key': 'outage-create-1' };
    const timedOut = await system.api.post('/api/v2/workloads', { name: 'outage', artifact: echoArtifact() }, headers);
    expect(timedOut.status).toBe(504);
    expect(timedOut.body.detail).toMatch(/did not answer within 1500 ms/);

    await system.start('workload-service');
    const listed = async () => (await system.api.get('/api/v2/workloads?search=outage')).body;
    let page = await listed();
    for (let i = 0; i < 50 && page.totalCount === 0; i++) {
      await new Promise((r) => setTimeout(r, 200));
      page = await listed();
    }
    expect(page.totalCount).toBe(1);

    const retried = await system.api.post('/api/v2/workloads', { name: 'outage', artifact: echoArtifact() }, headers);
    expect(retried.status).toBe(201);
    expect(retried.body.id).toBe(page.data[0].id);
    expect((await listed()).totalCount).toBe(1);
    // Created means deployed, once: the runtime's status changes aside, one create and one start.
    const running = await waitForStatus(system.api, retried.body.id, 'running');
    expect(running.protonId).toBe(retried.body.protonId);
    expect(replicaProcesses(running.protonId)).toHaveLength(1);
    const events = await system.api.get(`/api/v2/workloads/${retried.body.id}/events?limit=100`);
    const requested = events.body.data.map((e: { eventType: string }) => e.eventType).filter((t: string) => t !== 'Status Changed');
    expect(requested).toEqual(['Start Requested', 'Workload Created']);
  }, 120_000);
});
