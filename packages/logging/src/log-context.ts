import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * The ids a log line is about. Bound for the duration of one HTTP request (request id) or one
 * command (command id, workload id), so every line logged in that async scope carries them
 * without each call site passing them along.
 */
export interface LogFields {
  requestId?: string;
  commandId?: string;
  workloadId?: string;
  command?: string;
}

const storage = new AsyncLocalStorage<LogFields>();

/** Runs `fn` with `fields` added to the current fields (inner values win). */
export function withLogFields<T>(fields: LogFields, fn: () => T): T {
  const outer = storage.getStore();
  return storage.run(outer ? { ...outer, ...fields } : fields, fn);
}

/** The fields bound at this point; empty outside any request or command. */
export function logFields(): LogFields {
  return storage.getStore() ?? {};
}

/** Kafka/HTTP header names that carry the fields across a hop (lower case, as both transports deliver them). */
export const LOG_FIELD_HEADERS = {
  requestId: 'x-request-id',
  commandId: 'x-command-id',
  workloadId: 'x-workload-id',
  command: 'x-command',
} as const satisfies Record<keyof LogFields, string>;

/** The bound fields as message headers, for the next hop. */
export function logFieldHeaders(fields: LogFields = logFields()): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [field, header] of Object.entries(LOG_FIELD_HEADERS) as Array<[keyof LogFields, string]>) {
    const value = fields[field];
    if (value) headers[header] = value;
  }
  return headers;
}

/** The fields a message's headers carry; values that are not sane ids are left out. */
export function logFieldsFromHeaders(headers: Record<string, string | undefined>): LogFields {
  const fields: LogFields = {};
  for (const [field, header] of Object.entries(LOG_FIELD_HEADERS) as Array<[keyof LogFields, string]>) {
    const value = saneId(headers[header]);
    if (value) fields[field] = value;
  }
  return fields;
}

/** At most 128 characters of letters, digits and `._:-`: anything else is not echoed or logged. */
const SANE_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export function saneId(value: string | string[] | undefined): string | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  return text !== undefined && SANE_ID.test(text) ? text : undefined;
}
