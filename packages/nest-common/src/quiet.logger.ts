import { ConsoleLogger } from '@nestjs/common';

/** Nest's start-up chatter: one line per module and per route, hundreds in all. */
const NOISY_CONTEXTS = new Set(['InstanceLoader', 'RoutesResolver', 'RouterExplorer', 'NestFactory', 'NestApplication']);

/** The console logger without Nest's boot chatter, so an operator sees what the services say. */
export class QuietLogger extends ConsoleLogger {
  override log(message: unknown, context?: string): void;
  override log(message: unknown, ...rest: unknown[]): void {
    const context = rest[rest.length - 1];
    if (typeof context === 'string' && NOISY_CONTEXTS.has(context)) return;
    super.log(message, ...(rest as [string]));
  }
}
