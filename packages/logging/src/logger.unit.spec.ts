import { resolveFormat } from './logger';
import { LoggingEnvironment } from './logging.environment';

describe('log format and level', () => {
  it('is pretty at a terminal and JSON otherwise, unless forced', () => {
    expect(resolveFormat(undefined, true)).toBe('pretty');
    expect(resolveFormat(undefined, false)).toBe('json');
    expect(resolveFormat('json', true)).toBe('json');
    expect(resolveFormat('pretty', false)).toBe('pretty');
  });

  it('reads LOG_LEVEL (default info) and LOG_FORMAT from the environment', () => {
    expect(LoggingEnvironment.parse({})).toEqual({ LOG_LEVEL: 'info' });
    expect(LoggingEnvironment.parse({ LOG_LEVEL: 'debug', LOG_FORMAT: 'json' })).toEqual({ LOG_LEVEL: 'debug', LOG_FORMAT: 'json' });
    expect(LoggingEnvironment.safeParse({ LOG_LEVEL: 'loud' }).success).toBe(false);
    expect(LoggingEnvironment.safeParse({ LOG_FORMAT: 'xml' }).success).toBe(false);
  });
});
