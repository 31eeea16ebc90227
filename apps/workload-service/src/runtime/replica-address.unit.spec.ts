import { hostPort, isWildcard, probeHostFor } from './replica-address';

describe('replica addresses', () => {
  it('probes a wildcard bind over loopback of its family, any other bind at itself', () => {
    expect(probeHostFor('0.0.0.0')).toBe('127.0.0.1');
    expect(probeHostFor('::')).toBe('::1');
    expect(probeHostFor('10.1.2.3')).toBe('10.1.2.3');
    expect(probeHostFor('[fd00::1]')).toBe('fd00::1');
  });

  it('knows the wildcards', () => {
    expect(['0.0.0.0', '::', '[::]', '127.0.0.1', 'workload-service'].map(isWildcard)).toEqual([true, true, true, false, false]);
  });

  it('brackets IPv6 literals in host:port, leaves names and IPv4 alone', () => {
    expect(hostPort('workload-service', 4100)).toBe('workload-service:4100');
    expect(hostPort('127.0.0.1', 4100)).toBe('127.0.0.1:4100');
    expect(hostPort('::1', 4100)).toBe('[::1]:4100');
    expect(hostPort('[fd00::1]', 4100)).toBe('[fd00::1]:4100');
  });
});
