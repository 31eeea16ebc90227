import { loadConfig } from './config';

describe('workload-service config: where replicas listen and how they are reached', () => {
  it('keeps replicas on loopback unless told otherwise, advertising what they bind', () => {
    const config = loadConfig({});
    expect([config.RUNTIME_BIND_HOST, config.RUNTIME_ADVERTISE_HOST]).toEqual(['127.0.0.1', undefined]);
    expect(loadConfig({ RUNTIME_BIND_HOST: '10.0.0.5' })).toMatchObject({ RUNTIME_BIND_HOST: '10.0.0.5' });
  });

  it('takes a wildcard bind with an advertised name, as in docker-compose.yml', () => {
    expect(loadConfig({ RUNTIME_BIND_HOST: '0.0.0.0', RUNTIME_ADVERTISE_HOST: 'workload-service' })).toMatchObject({ RUNTIME_BIND_HOST: '0.0.0.0', RUNTIME_ADVERTISE_HOST: 'workload-service' });
  });

  it.each(['0.0.0.0', '::', '[::]'])('refuses a wildcard bind (%s) without an advertise host, naming the variable', (host) => {
    expect(() => loadConfig({ RUNTIME_BIND_HOST: host })).toThrow(/RUNTIME_ADVERTISE_HOST: required when RUNTIME_BIND_HOST is/);
  });
});
