import { z } from 'zod';

/**
 * Parses the environment once at boot against a zod schema. On failure the process gets one
 * readable message naming every bad variable, instead of a stack trace later.
 */
export function parseConfig<T extends z.ZodType>(schema: T, env: Record<string, string | undefined>): z.output<T> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  const lines = result.error.issues.map((i) => `  ${i.path.join('.') || '(env)'}: ${i.message}`);
  throw new Error(`invalid configuration:\n${lines.join('\n')}`);
}

/** `"a:1,b:2"` → `["a:1","b:2"]`; empty → undefined. */
export const CommaList = z
  .string()
  .optional()
  .transform((v) => (v ? v.split(',').map((s) => s.trim()).filter(Boolean) : undefined));

export const Port = z.coerce.number().int().min(0).max(65535);

export const BoolFlag = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .optional()
  .transform((v) => (v === undefined ? undefined : ['true', '1', 'yes'].includes(v)));
