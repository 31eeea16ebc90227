import { hostname } from 'node:os';
import pino, { DestinationStream, Logger } from 'pino';
import { logFields } from './log-context';
import { redactSecrets } from './redaction';

export type LogFormat = 'json' | 'pretty';
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevelName = (typeof LOG_LEVELS)[number];

export interface LoggerOptions {
  /** `app` of every line: gateway, workload-service, telemetry-service, embedded. */
  app: string;
  level: LogLevelName;
  /** Unset: pretty when stdout is a terminal, JSON otherwise (a pipe, a container, a file). */
  format?: LogFormat;
  /** More fields per line, computed when it is written (the tracing package adds the trace id). */
  mixin?: () => Record<string, unknown>;
  /** Where lines go; stdout when absent. Tests pass a stream to read them back. */
  destination?: DestinationStream;
}

/** The pino options every app shares: redaction (a formatter, see redactSecrets), ISO time, level as its name, the bound ids. */
export function pinoOptions(options: Pick<LoggerOptions, 'app' | 'level' | 'mixin'>): pino.LoggerOptions {
  const extra = options.mixin;
  return {
    level: options.level,
    // hostname: the pod or container in a deployment; pid: which of several instances on one host.
    base: { app: options.app, hostname: hostname(), pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }), log: redactSecrets },
    // Called per line written (never for a level that is off): the ids bound by withLogFields.
    mixin: extra ? () => ({ ...logFields(), ...extra() }) : () => ({ ...logFields() }),
  };
}

export function resolveFormat(format: LogFormat | undefined, isTty = process.stdout.isTTY === true): LogFormat {
  return format ?? (isTty ? 'pretty' : 'json');
}

/**
 * The process's logger. JSON lines on stdout, written synchronously so the last lines before an
 * exit are not lost; pretty (pino-pretty, loaded only then) for a person at a terminal.
 */
export function createLogger(options: LoggerOptions): Logger {
  const format = resolveFormat(options.format);
  const destination =
    options.destination ??
    (format === 'pretty'
      ? // eslint-disable-next-line @typescript-eslint/no-require-imports
        (require('pino-pretty') as typeof import('pino-pretty'))({
          colorize: true,
          sync: true,
          singleLine: true,
          ignore: 'pid,hostname,app,context',
          messageFormat: '{if context}[{context}] {end}{msg}',
          translateTime: 'SYS:HH:MM:ss.l',
        })
      : pino.destination({ dest: 1, sync: true }));
  return pino(pinoOptions(options), destination);
}
