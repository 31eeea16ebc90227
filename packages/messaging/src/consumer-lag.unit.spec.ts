import { partitionLags } from './consumer-lag';

describe('partitionLags', () => {
  const watermarks = [
    { partition: 0, high: '120', low: '0' },
    { partition: 1, high: '50', low: '10' },
    { partition: 2, high: '7', low: '0' },
  ];

  it('is the high watermark minus the committed offset, per partition', () => {
    const lags = partitionLags('g', 't', watermarks, [
      { partition: 0, offset: '100' },
      { partition: 1, offset: '50' },
      { partition: 2, offset: '3' },
    ]);
    expect(lags).toEqual([
      { group: 'g', topic: 't', partition: 0, lag: 20 },
      { group: 'g', topic: 't', partition: 1, lag: 0 },
      { group: 'g', topic: 't', partition: 2, lag: 4 },
    ]);
  });

  it('counts what is still on the broker for a partition the group never committed', () => {
    const lags = partitionLags('g', 't', watermarks, [{ partition: 0, offset: '-1' }]);
    expect(lags.map((l) => l.lag)).toEqual([120, 40, 7]);
  });

  it('is never negative when the commit was read after the watermark', () => {
    expect(partitionLags('g', 't', [{ partition: 0, high: '5', low: '0' }], [{ partition: 0, offset: '9' }])[0].lag).toBe(0);
  });
});
