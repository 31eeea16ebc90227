import type { LogsRepository, LogFilter, LogPageRequest } from './logs.repository';
import { LogsService } from './logs.service';

const W = 'c'.repeat(24);

function setup() {
  const calls: Array<[LogFilter, LogPageRequest]> = [];
  const repository = {
    search: async (f: LogFilter, p: LogPageRequest) => {
      calls.push([f, p]);
      return { total: 42, hits: [{ timestampMs: Date.UTC(2026, 2, 1, 10, 0, 0, 5), level: 'error' as const, message: 'boom', replica: 'r0', protonId: 'p' }] };
    },
  } as unknown as LogsRepository;
  return { service: new LogsService(repository), calls };
}

it('passes the parsed filter and page, and answers {totalCount, data} of LogEntryDto', async () => {
  const { service, calls } = setup();
  const page = await service.search({
    workloadId: W, offset: 10, limit: 5, level: 'warning', startTime: '2026-03-01T11:00:00+01:00', endTime: '2026-03-01T12:00:00.000Z', protonId: 'p',
  });
  expect(page).toEqual({ totalCount: 42, data: [{ timestamp: '2026-03-01T10:00:00.005Z', level: 'error', message: 'boom', replica: 'r0', protonId: 'p' }] });
  expect(calls).toEqual([[
    { workloadId: W, protonId: 'p', minLevel: 'warning', startMs: Date.UTC(2026, 2, 1, 10), endMs: Date.UTC(2026, 2, 1, 12) },
    { offset: 10, limit: 5 },
  ]]);
});

it('defaults: offset 0, limit 100, no level, period or proton', async () => {
  const { service, calls } = setup();
  await service.search({ workloadId: W });
  await service.search({ workloadId: W, level: null, startTime: null, endTime: null, protonId: null });
  const expected = [{ workloadId: W, protonId: null, minLevel: null, startMs: null, endMs: null }, { offset: 0, limit: 100 }];
  expect(calls).toEqual([expected, expected]);
});

it('refuses without asking the repository: invalid fields (validation), a reversed period (bad_request)', async () => {
  const { service, calls } = setup();
  expect(await service.search({ workloadId: W, limit: 1001 })).toMatchObject({ kind: 'validation', code: 'INVALID_BODY', message: expect.stringMatching(/^body\.limit: /) });
  expect(await service.search(undefined)).toMatchObject({ kind: 'validation', message: expect.stringMatching(/^body\.workloadId: /) });
  expect(await service.search({ workloadId: W, startTime: '2026-03-01T10:00:00.001Z', endTime: '2026-03-01T10:00:00.000Z' })).toMatchObject({
    kind: 'bad_request', code: 'INVALID_PERIOD',
  });
  expect(calls).toEqual([]);
  // An empty period is not an error.
  await service.search({ workloadId: W, startTime: '2026-03-01T10:00:00.000Z', endTime: '2026-03-01T10:00:00.000Z' });
  expect(calls).toHaveLength(1);
});
