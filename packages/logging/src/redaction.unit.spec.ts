import { Writable } from 'node:stream';
import pino from 'pino';
import { pinoOptions } from './logger';
import { withLogFields } from './log-context';
import { PinoNestLogger } from './nest.logger';
import { redactSecrets, scrubSecrets } from './redaction';

/** A logger with the apps' options whose lines are kept, parsed. */
function capture(level: pino.LevelWithSilent = 'trace') {
  const lines: Array<Record<string, any>> = [];
  const raw: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) {
        raw.push(line);
        lines.push(JSON.parse(line));
      }
      done();
    },
  });
  const logger = pino(pinoOptions({ app: 'test', level: level as never }), stream);
  return { logger, lines, raw };
}

const TOKEN = 'wcp_s3cr3t-t0ken_value';

describe('redaction', () => {
  it('censors authorization and cookies in request and response headers', () => {
    const { logger, lines, raw } = capture();
    logger.info({ req: { headers: { authorization: `Bearer ${TOKEN}`, cookie: TOKEN, 'set-cookie': TOKEN, host: 'h' } }, res: { headers: { 'set-cookie': TOKEN } } }, 'r');
    logger.info({ headers: { authorization: `Bearer ${TOKEN}` } }, 'h');
    expect(lines[0].req.headers).toEqual({ authorization: '[redacted]', cookie: '[redacted]', 'set-cookie': '[redacted]', host: 'h' });
    expect(lines[0].res.headers['set-cookie']).toBe('[redacted]');
    expect(lines[1].headers.authorization).toBe('[redacted]');
    expect(raw.join('\n')).not.toContain(TOKEN);
  });

  it('censors token, password and config secret fields at the top level and one object deep', () => {
    const { logger, raw, lines } = capture();
    logger.info({ token: TOKEN, apiToken: TOKEN, user: { apiToken: TOKEN, password: TOKEN, name: 'kept' }, config: { BOOTSTRAP_API_TOKEN: TOKEN, METRICS_TOKEN: TOKEN } }, 'f');
    expect(raw.join('\n')).not.toContain(TOKEN);
    expect(lines[0].user.name).toBe('kept');
  });

  it('scrubs a bearer token out of message text (Nest messages, error messages, stacks)', () => {
    expect(scrubSecrets(`401 for Authorization: Bearer ${TOKEN} at /x`)).toBe('401 for Authorization: Bearer [redacted] at /x');
    expect(scrubSecrets('no secret here')).toBe('no secret here');
    const { logger, raw } = capture();
    const nest = new PinoNestLogger(logger);
    nest.log(`sending bearer ${TOKEN}`, 'Ctx');
    nest.error(new Error(`upstream refused Bearer ${TOKEN}`), 'Ctx');
    nest.error(`failed with BEARER ${TOKEN}`, `Error: x\n    at Bearer ${TOKEN}`, 'Ctx');
    nest.warn({ msg: `object Bearer ${TOKEN}`, headers: { authorization: `Bearer ${TOKEN}` } }, 'Ctx');
    expect(raw).toHaveLength(4);
    expect(raw.join('\n')).not.toContain(TOKEN);
  });

  it('never changes the caller\'s object, and returns it as it is when there is nothing to censor', () => {
    const headers = { authorization: `Bearer ${TOKEN}`, host: 'h' };
    const fields = { req: { headers }, n: 1 };
    expect(redactSecrets(fields)).toEqual({ req: { headers: { authorization: '[redacted]', host: 'h' } }, n: 1 });
    expect(fields.req.headers.authorization).toBe(`Bearer ${TOKEN}`);
    const clean = { requestId: 'r', status: 200, user: { name: 'n' } };
    expect(redactSecrets(clean)).toBe(clean);
    // Two levels deep is left (as pino's one-level wildcards did), except request and response headers.
    expect(redactSecrets({ a: { b: { token: 'x' } } })).toEqual({ a: { b: { token: 'x' } } });
  });
});

describe('PinoNestLogger', () => {
  it('maps Nest levels, the context and object messages to pino fields, with the bound ids', () => {
    const { logger, lines } = capture();
    const nest = new PinoNestLogger(logger);
    withLogFields({ requestId: 'r-1', commandId: 'c-1' }, () => nest.log({ msg: 'done', outcome: 'ok' }, 'CommandSender'));
    nest.warn('careful', 'Ctx');
    nest.debug('details');
    nest.verbose('more details', 'Ctx');
    nest.error('broke', 'Error: broke\n    at x', 'Ctx');
    expect(lines.map((l) => [l.level, l.msg, l.context])).toEqual([
      ['info', 'done', 'CommandSender'],
      ['warn', 'careful', 'Ctx'],
      ['debug', 'details', undefined],
      ['trace', 'more details', 'Ctx'],
      ['error', 'broke', 'Ctx'],
    ]);
    expect(lines[0]).toMatchObject({ app: 'test', requestId: 'r-1', commandId: 'c-1', outcome: 'ok' });
    expect(lines[0].time).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(lines[4].stack).toContain('at x');
  });

  it('drops Nest\'s boot chatter and what is below the level', () => {
    const { logger, lines } = capture('info');
    const nest = new PinoNestLogger(logger);
    nest.log('Mapped {/x, GET} route', 'RouterExplorer');
    nest.log('AppModule dependencies initialized', 'InstanceLoader');
    nest.debug('hidden', 'Ctx');
    nest.log('kept', 'Ctx');
    expect(lines.map((l) => l.msg)).toEqual(['kept']);
  });
});
