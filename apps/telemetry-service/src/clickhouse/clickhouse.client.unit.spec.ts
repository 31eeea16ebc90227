/**
 * chDB's native engine is ~540 MB and loads when `chdb/connection` is imported: a service with a
 * ClickHouse server (CLICKHOUSE_URL) must never import it. The module is replaced by a recorder
 * so the test sees whether it was evaluated, without loading the engine.
 */
describe('createClickHouseClient', () => {
  let evaluated: number;

  beforeEach(() => {
    jest.resetModules();
    evaluated = 0;
    jest.doMock('chdb/connection', () => {
      evaluated += 1;
      return { createChdbConnection: () => ({ close: async () => undefined }) };
    });
  });

  // require, not import(): the module registry was just reset and the recorder must be seen by a fresh copy.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const load = () => require('./clickhouse.client') as typeof import('./clickhouse.client');
  const config = { database: 'telemetry', chdbPath: '/tmp/unused', username: undefined, password: undefined };

  it('does not load chDB when a ClickHouse server is configured', async () => {
    const { createClickHouseClient } = load();
    const client = createClickHouseClient({ ...config, url: 'http://127.0.0.1:1' });
    expect(evaluated).toBe(0);
    await client.close();
  });

  it('loads chDB when no server is configured', () => {
    const { createClickHouseClient } = load();
    createClickHouseClient({ ...config, url: undefined });
    expect(evaluated).toBe(1);
  });
});
