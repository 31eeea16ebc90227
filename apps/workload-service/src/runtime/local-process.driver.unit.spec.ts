import { replicaName } from './local-process.driver';

describe('replicaName', () => {
  it('is stable per index, so a restarted replica keeps its name', () => {
    expect(replicaName('abc', 0)).toBe('abc-0');
    expect(replicaName('abc', 3)).toBe('abc-3');
  });
});
