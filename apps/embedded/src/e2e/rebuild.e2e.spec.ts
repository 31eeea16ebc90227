import { startNode } from '@wcp/testing';
import { join, resolve } from 'node:path';
import { stopAndWait } from './api.helpers';
import { echoArtifact, startEmbeddedSystem, System } from './system.harness';

/**
 * Read models are disposable: `rebuild-projections` replays the log into identical ones. Each
 * create deploys; the workloads are stopped before the snapshot, so no runtime moves a status
 * while it is taken or across the restart.
 */
describe('rebuild projections (embedded)', () => {
  let system: System;

  beforeAll(async () => {
    system = await startEmbeddedSystem();
  }, 120_000);

  afterAll(async () => {
    await system?.stop();
  });

  async function snapshot() {
    const workloads = (await system.api.get('/api/v2/workloads?limit=100&orderBy=name')).body;
    const artifacts = (await system.api.get('/api/v2/artifacts?limit=100')).body;
    const users = (await system.api.get('/api/v2/admin/users?limit=100')).body;
    const events = await Promise.all(workloads.data.map(async (w: { id: string }) => (await system.api.get(`/api/v2/workloads/${w.id}/events?limit=100`)).body));
    return { workloads, artifacts, users, events };
  }

  it('gives read models identical to the ones it replaces', async () => {
    const user = (await system.api.post('/api/v2/admin/users', { username: 'rebuilder' })).body;
    for (let i = 0; i < 5; i++) {
      const w = (await system.api.post('/api/v2/workloads', { name: `w${i}`, artifact: echoArtifact(`a${i}`), importance: i % 2 ? 'high' : 'low', tags: [{ name: 'i', value: String(i) }] })).body;
      if (i % 2) await system.api.patch(`/api/v2/workloads/${w.id}`, { description: `d${i}` });
      // The one deleted goes while it starts (delete stops its proton first).
      if (i === 3) await system.api.delete(`/api/v2/workloads/${w.id}`);
      else await stopAndWait(system.api, w.id);
    }
    const locked = (await system.api.post('/api/v2/artifacts', echoArtifact('locked'))).body;
    await system.api.patch(`/api/v2/artifacts/${locked.id}`, { status: 'locked' });
    const theirs = (await system.api.as(user.apiToken).post('/api/v2/workloads', { name: 'theirs', artifact: echoArtifact('theirs') })).body;
    await stopAndWait(system.api.as(user.apiToken), theirs.id);
    const before = await snapshot();
    expect(before.workloads.totalCount).toBe(5);
    expect(before.workloads.data.map((w: { status: string }) => w.status)).toEqual(Array(5).fill('stopped'));

    await system.processes.embedded.stop();
    const rebuild = startNode(join(resolve(__dirname, '../../..'), 'workload-service/dist/rebuild-projections.main.js'), { DATA_DIR: system.dataDir });
    expect(await new Promise((r) => rebuild.child.once('exit', r))).toBe(0);
    expect(rebuild.output()).toMatch(/rebuilt from \d+ commits/);
    await system.start('embedded');

    expect(await snapshot()).toEqual(before);
  }, 120_000);
});
