import { ApiClient } from '@wcp/testing';
import { ACTIVE_STATUSES, stopAndWait, waitForStatus } from './api.helpers';
import { describeOnSystems, echoArtifact } from './system.harness';

/**
 * The first command end to end, in both ways to run: create a workload over HTTP (which
 * deploys it), read it back, restart everything, read it again.
 */
describeOnSystems('foundation', (system) => {

  it('serves health without a token and refuses the API without one', async () => {
    const anonymous = new ApiClient(system.baseUrl);
    const health = await anonymous.get('/api/v2/health');
    expect(health.status).toBe(200);
    expect(health.body).toEqual({ status: 'ok', components: expect.objectContaining({ workloadService: 'ok' }) });
    const refused = await anonymous.get('/api/v2/workloads');
    expect(refused.status).toBe(401);
    expect(typeof refused.body.detail).toBe('string');
    expect((await anonymous.as('wrong-token').get('/api/v2/workloads')).status).toBe(401);
  });

  it('creates a workload from an inline artifact and reads it back, also after a restart', async () => {
    const created = await system.api.post('/api/v2/workloads', { name: 'first', description: 'hello', artifact: echoArtifact(), tags: [{ name: 'team', value: 'ml' }] });
    expect(created.status).toBe(201);
    const w = created.body;
    expect(w).toMatchObject({
      id: expect.stringMatching(/^[0-9a-f]{24}$/),
      name: 'first',
      description: 'hello',
      status: 'submitted',
      importance: 'low',
      type: 'service',
      creator: { username: 'admin' },
      artifact: { status: 'draft', type: 'service', version: null, name: 'echo' },
      protonId: expect.stringMatching(/^[0-9a-f]{24}$/),
      endpoint: `${system.baseUrl}/api/v2/endpoints/workloads/${w.id}/`,
      tags: [{ name: 'team', value: 'ml' }],
      runtime: { containerGroups: [{ name: 'default', replicaCount: 1, containers: [{ name: 'main', resourceAllocation: { cpu: 1, memory: 536870912, gpu: null } }] }] },
    });
    expect(w.createdAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(w.permissions).toEqual(expect.arrayContaining(['CAN_VIEW', 'CAN_UPDATE', 'CAN_DELETE', 'CAN_SHARE', 'CAN_INVOKE']));

    // Read back it is the same workload on its way up: only status and updatedAt move.
    const read = await system.api.get(`/api/v2/workloads/${w.id}`);
    expect(read.status).toBe(200);
    expect(read.body).toEqual({ ...w, status: expect.any(String), updatedAt: expect.any(String) });
    expect(ACTIVE_STATUSES).toContain(read.body.status);
    expect((await waitForStatus(system.api, w.id, 'running')).protonId).toBe(w.protonId);

    // At rest, a restart gives it back unchanged.
    const stopped = await stopAndWait(system.api, w.id);
    expect(stopped).toEqual({ ...w, status: 'stopped', updatedAt: expect.any(String) });
    await system.restart();
    const afterRestart = await system.api.get(`/api/v2/workloads/${w.id}/`);
    expect(afterRestart.status).toBe(200);
    expect(afterRestart.body).toEqual(stopped);
  }, 240_000);

  it('creates a workload from an existing artifact id, and 404s an unknown one', async () => {
    const artifact = await system.api.post('/api/v2/artifacts', echoArtifact('by-id'));
    expect(artifact.status).toBe(201);
    const created = await system.api.post('/api/v2/workloads', { name: 'by-id', artifactId: artifact.body.id });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ artifactId: artifact.body.id, status: 'submitted', protonId: expect.stringMatching(/^[0-9a-f]{24}$/) });
    const unknown = await system.api.post('/api/v2/workloads', { name: 'nope', artifactId: 'aaaaaaaaaaaaaaaaaaaaaaaa' });
    expect(unknown.status).toBe(404);
    expect(unknown.body.detail).toMatch(/Artifact aaaaaaaaaaaaaaaaaaaaaaaa was not found/);
  });

  it('answers 422 with loc/msg/type for bad bodies and unknown fields, 400 for malformed JSON', async () => {
    const bad = await system.api.post('/api/v2/workloads', { artifact: echoArtifact(), surprise: 1 });
    expect(bad.status).toBe(422);
    expect(bad.body.detail).toEqual(
      expect.arrayContaining([
        { loc: ['body', 'name'], msg: 'Field required', type: 'missing' },
        { loc: ['body', 'surprise'], msg: 'Extra inputs are not permitted', type: 'extra_forbidden' },
      ]),
    );
    const malformed = await system.api.request('POST', '/api/v2/workloads', '{"name": ', { 'content-type': 'application/json' });
    expect(malformed.status).toBe(400);
    expect(typeof malformed.body.detail).toBe('string');
    const missing = await system.api.get('/api/v2/workloads/bbbbbbbbbbbbbbbbbbbbbbbb');
    expect(missing.status).toBe(404);
  });
});
