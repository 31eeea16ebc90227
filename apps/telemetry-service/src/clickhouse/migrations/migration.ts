/**
 * A numbered schema step. Statements must be idempotent (`IF NOT EXISTS`): two instances may
 * boot at once, and a crash between a statement and the bookkeeping row re-runs the step.
 * `db` is the validated database identifier from config, never user input.
 */
export interface Migration {
  id: string;
  statements: (db: string) => string[];
}
