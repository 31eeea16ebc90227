import { Logger as NestLogger } from '@nestjs/common';
import type { LoggerService } from '@nestjs/common';
import { createLogger, LoggerOptions } from './logger';
import type { Logger } from 'pino';
import { scrubSecrets } from './redaction';

/** Nest's start-up chatter: one line per module and per route, hundreds in all. */
const NOISY_CONTEXTS = new Set(['InstanceLoader', 'RoutesResolver', 'RouterExplorer', 'NestFactory', 'NestApplication']);

type Level = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';

/**
 * Nest's `Logger` (every `new Logger('Context')` in the apps) written through pino: the context
 * becomes a field, an object message becomes fields (`msg` its text), and a message string is
 * scrubbed of bearer tokens, which pino's path redaction cannot see inside a string.
 */
export class PinoNestLogger implements LoggerService {
  constructor(readonly pino: Logger) {}

  log(message: unknown, ...params: unknown[]): void {
    this.write('info', message, params);
  }

  error(message: unknown, ...params: unknown[]): void {
    this.write('error', message, params, true);
  }

  warn(message: unknown, ...params: unknown[]): void {
    this.write('warn', message, params);
  }

  debug(message: unknown, ...params: unknown[]): void {
    this.write('debug', message, params);
  }

  verbose(message: unknown, ...params: unknown[]): void {
    this.write('trace', message, params);
  }

  fatal(message: unknown, ...params: unknown[]): void {
    this.write('fatal', message, params, true);
  }

  private write(level: Level, message: unknown, params: unknown[], withStack = false): void {
    if (!this.pino.isLevelEnabled(level)) return;
    // Nest passes the logger's context last, and for errors a stack string before it.
    const rest = [...params];
    const context = rest.length > 0 && typeof rest[rest.length - 1] === 'string' ? (rest.pop() as string) : undefined;
    if (level === 'info' && context && NOISY_CONTEXTS.has(context)) return;
    const fields: Record<string, unknown> = context ? { context } : {};
    if (withStack && typeof rest[0] === 'string') fields.stack = scrubSecrets(rest.shift() as string);
    let text: string;
    if (message instanceof Error) {
      fields.err = { type: message.name, message: scrubSecrets(message.message), stack: scrubSecrets(message.stack ?? '') };
      text = message.message;
    } else if (message && typeof message === 'object') {
      const { msg, ...more } = message as Record<string, unknown>;
      Object.assign(fields, more);
      text = typeof msg === 'string' ? msg : '';
    } else {
      text = String(message);
    }
    this.pino[level](fields, scrubSecrets(text));
  }
}

/** The app's Nest logger over a new pino logger; also made Nest's static logger, so `new Logger(...)` lines written before the app exists go through it. */
export function installLogger(options: LoggerOptions): PinoNestLogger {
  const logger = new PinoNestLogger(createLogger(options));
  NestLogger.overrideLogger(logger);
  return logger;
}
