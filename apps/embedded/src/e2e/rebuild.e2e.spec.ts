import { startNode } from '@wcp/testing';
import { join, resolve } from 'node:path';
import { echoArtifact, startEmbeddedSystem, System } from './system.harness';

/** Read models are disposable: `rebuild-projections` replays the log into identical ones. */
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
      if (i === 3) await system.api.delete(`/api/v2/workloads/${w.id}`);
    }
    const locked = (await system.api.post('/api/v2/artifacts', echoArtifact('locked'))).body;
    await system.api.patch(`/api/v2/artifacts/${locked.id}`, { status: 'locked' });
    await system.api.as(user.apiToken).post('/api/v2/workloads', { name: 'theirs', artifact: echoArtifact('theirs') });
    const before = await snapshot();
    expect(before.workloads.totalCount).toBe(5);

    await system.processes.embedded.stop();
    const rebuild = startNode(join(resolve(__dirname, '../../..'), 'workload-service/dist/rebuild-projections.main.js'), { DATA_DIR: system.dataDir });
    expect(await new Promise((r) => rebuild.child.once('exit', r))).toBe(0);
    expect(rebuild.output()).toMatch(/rebuilt from \d+ commits/);
    await system.start('embedded');

    expect(await snapshot()).toEqual(before);
  }, 120_000);
});
