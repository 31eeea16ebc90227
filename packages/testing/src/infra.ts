/**
 * The real servers the integration and e2e tiers need. `npm test` starts them (infra/up.sh) and
 * exports their addresses; a test that needs one and finds it missing fails, it never skips.
 */
export function requireKafka(): string[] {
  const brokers = process.env.KAFKA_BROKERS;
  if (!brokers) throw new Error('KAFKA_BROKERS is not set: start the servers with `npm run infra:up` and `source infra/env.sh`');
  return brokers.split(',');
}

export function requireMongo(): string {
  const uri = process.env.MONGODB_URI;
  if (!uri) throw new Error('MONGODB_URI is not set: start the servers with `npm run infra:up` and `source infra/env.sh`');
  return uri;
}

/** A database name no other test run uses, so suites never see each other's data. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
}
