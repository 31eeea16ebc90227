import { logFieldHeaders, logFields, logFieldsFromHeaders, saneId, withLogFields } from './log-context';

describe('log context', () => {
  it('binds fields for an async scope, inner values winning, and nothing outside it', async () => {
    expect(logFields()).toEqual({});
    await withLogFields({ requestId: 'r1' }, async () => {
      await new Promise((r) => setTimeout(r, 1));
      expect(logFields()).toEqual({ requestId: 'r1' });
      await withLogFields({ commandId: 'c1', workloadId: 'w1' }, async () => {
        await Promise.resolve();
        expect(logFields()).toEqual({ requestId: 'r1', commandId: 'c1', workloadId: 'w1' });
      });
      expect(logFields()).toEqual({ requestId: 'r1' });
    });
    expect(logFields()).toEqual({});
  });

  it('carries the fields across a hop as headers and back', () => {
    const fields = { requestId: 'req-1', commandId: 'cmd-1', workloadId: '0123456789abcdef01234567', command: 'UpdateWorkload' };
    const headers = logFieldHeaders(fields);
    expect(headers).toEqual({ 'x-request-id': 'req-1', 'x-command-id': 'cmd-1', 'x-workload-id': '0123456789abcdef01234567', 'x-command': 'UpdateWorkload' });
    expect(logFieldsFromHeaders({ ...headers, traceparent: 'x', other: 'y' })).toEqual(fields);
    expect(withLogFields({ requestId: 'bound' }, () => logFieldHeaders())).toEqual({ 'x-request-id': 'bound' });
  });

  it('drops header values that are not sane ids', () => {
    expect(logFieldsFromHeaders({ 'x-request-id': 'has space', 'x-command-id': 'a'.repeat(129), 'x-workload-id': 'ok-1' })).toEqual({ workloadId: 'ok-1' });
    expect(saneId('abc.DEF_1:2-3')).toBe('abc.DEF_1:2-3');
    expect(saneId(['first', 'second'])).toBe('first');
    for (const bad of ['', 'a\nb', '{"json":1}', 'a'.repeat(129), undefined]) expect(saneId(bad)).toBeUndefined();
  });
});
