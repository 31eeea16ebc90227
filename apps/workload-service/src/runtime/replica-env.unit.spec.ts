import { replicaEnv } from './replica-env';

describe('replicaEnv', () => {
  it('layers base < proton < container < runtime, dropping names that steer Node or the loader', () => {
    const env = replicaEnv(
      { PATH: '/usr/bin', A: 'base' },
      { A: 'proton', B: 'proton', NODE_OPTIONS: '--require /tmp/x.js' },
      [
        { name: 'B', value: 'container' },
        { name: 'LD_PRELOAD', value: '/tmp/x.so' },
        { name: 'PORT', value: '1' },
        { name: 'HOST', value: '0.0.0.0' },
        { name: 'WCP_REPLICA_ID', value: 'forged' },
        { name: 'NODE_PATH', value: '/tmp' },
        { name: 'DYLD_INSERT_LIBRARIES', value: 'x' },
      ],
      { PORT: '41000', HOST: '127.0.0.1', REPLICA_NAME: 'p-0', WCP_REPLICA_ID: 'real' },
    );
    expect(env).toEqual({ PATH: '/usr/bin', A: 'proton', B: 'container', PORT: '41000', HOST: '127.0.0.1', REPLICA_NAME: 'p-0', WCP_REPLICA_ID: 'real' });
  });
});
