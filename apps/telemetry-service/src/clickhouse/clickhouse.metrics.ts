import { counter, histogram } from '@wcp/metrics';
import { performance } from 'node:perf_hooks';

const insertedRows = counter('wcp_clickhouse_inserted_rows_total', 'Rows written to ClickHouse by the batched writers, by table.', ['table']);
const insertDuration = histogram('wcp_clickhouse_insert_duration_seconds', 'One batched insert into ClickHouse, by table and outcome (ok, error).', ['table', 'outcome']);
const queryDuration = histogram('wcp_clickhouse_query_duration_seconds', 'Statistics queries, by grouping (all: summary; step and bounds: series; workload: the list\'s enrichment) and outcome.', ['statistic', 'outcome']);

async function timed<T>(observe: (outcome: string, seconds: number) => void, work: () => Promise<T>): Promise<T> {
  const started = performance.now();
  try {
    const result = await work();
    observe('ok', (performance.now() - started) / 1000);
    return result;
  } catch (error) {
    observe('error', (performance.now() - started) / 1000);
    throw error;
  }
}

/** The insert of a batched writer, counted and timed per table. */
export function observedInsert<Row>(table: string, insert: (rows: Row[]) => Promise<void>): (rows: Row[]) => Promise<void> {
  return async (rows) => {
    await timed((outcome, seconds) => insertDuration.observe({ table, outcome }, seconds), () => insert(rows));
    insertedRows.inc({ table }, rows.length);
  };
}

export function observedQuery<T>(statistic: string, query: () => Promise<T>): Promise<T> {
  return timed((outcome, seconds) => queryDuration.observe({ statistic, outcome }, seconds), query);
}
