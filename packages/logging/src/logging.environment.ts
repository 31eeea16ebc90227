import { z } from 'zod';
import { LOG_LEVELS } from './logger';

/** The logging variables every app's config.ts spreads into its schema (one meaning everywhere). */
export const LoggingEnvironment = z.object({
  LOG_LEVEL: z.enum(LOG_LEVELS).default('info').describe('Lowest level logged: `fatal`, `error`, `warn`, `info`, `debug`, `trace`, or `silent` (docs/operations.md, Logs).'),
  LOG_FORMAT: z.enum(['json', 'pretty']).optional().describe('`json`: one JSON object per line; `pretty`: coloured text for a terminal. Unset: `pretty` when stdout is a terminal, else `json`.'),
});
