// Checks that the compactor and DuckDB produced the same output rows: equal row counts, the same
// set of (metric_name, chq_tid, chq_timestamp) keys (no key twice), the same total of
// chq_rollup_count, and compactor files in sort-key order. Exits 1 with the differences otherwise.
//
//   node bench/check.ts --compactor DIR --duckdb FILE [--floor DIR --rows-in N]
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api'
import { sqlString } from './duckdb-peer.ts'

/** What the check found about one output. */
export interface OutputSummary {
  rows: number
  keys: number
  key_hash: string
  count_total: number
  first_bucket: number
  last_bucket: number
}

async function one (connection: DuckDBConnection, sql: string): Promise<Record<string, unknown>> {
  const reader = await connection.runAndReadAll(sql)
  return reader.getRowObjectsJson()[0] as Record<string, unknown>
}

/** Row count, distinct keys, a sum of key hashes and the total count of an output (a glob or a file). */
export async function summarize (connection: DuckDBConnection, glob: string): Promise<OutputSummary> {
  const row = await one(connection, `SELECT count(*) AS rows,
      count(DISTINCT (metric_name, chq_tid, chq_timestamp)) AS keys,
      sum(hash(metric_name, chq_tid, chq_timestamp))::VARCHAR AS key_hash,
      sum(chq_rollup_count) AS count_total,
      min(chq_timestamp) AS first_bucket, max(chq_timestamp) AS last_bucket
    FROM read_parquet(${sqlString(glob)})`)
  return {
    rows: Number(row.rows), keys: Number(row.keys), key_hash: String(row.key_hash), count_total: Number(row.count_total),
    first_bucket: Number(row.first_bucket), last_bucket: Number(row.last_bucket),
  }
}

/** Rows of the compactor's files that sort before the row above them (0 when every file is sorted). */
async function unsortedRows (connection: DuckDBConnection, glob: string): Promise<number> {
  const row = await one(connection, `SELECT count(*) AS bad FROM (
      SELECT metric_name AS n, chq_tid AS t, chq_timestamp AS ts,
        lag(metric_name) OVER w AS pn, lag(chq_tid) OVER w AS pt, lag(chq_timestamp) OVER w AS pts
      FROM read_parquet(${sqlString(glob)}, filename = true, file_row_number = true)
      WINDOW w AS (PARTITION BY filename ORDER BY file_row_number))
    WHERE pn IS NOT NULL AND (n < pn OR (n = pn AND (t < pt OR (t = pt AND ts <= pts))))`)
  return Number(row.bad)
}

/** Compares the outputs; returns the list of problems (empty when they agree) and both summaries. */
export async function checkOutputs (compactorDir: string, duckdbFile: string, floorDir?: string, rowsIn?: number):
Promise<{ problems: string[], compactor: OutputSummary, duckdb: OutputSummary, floor?: OutputSummary }> {
  const instance = await DuckDBInstance.create(':memory:')
  const connection = await instance.connect()
  try {
    const compactorGlob = `${compactorDir}/*.parquet`
    const compactor = await summarize(connection, compactorGlob)
    const duckdb = await summarize(connection, duckdbFile)
    const problems: string[] = []
    for (const key of ['rows', 'keys', 'key_hash', 'count_total', 'first_bucket', 'last_bucket'] as const) {
      if (compactor[key] !== duckdb[key]) problems.push(`${key}: compactor ${compactor[key]}, duckdb ${duckdb[key]}`)
    }
    if (compactor.keys !== compactor.rows) problems.push(`compactor output has ${compactor.rows - compactor.keys} rows sharing a key`)
    const unsorted = await unsortedRows(connection, compactorGlob)
    if (unsorted > 0) problems.push(`compactor output: ${unsorted} rows out of sort-key order`)
    let floor: OutputSummary | undefined
    if (floorDir !== undefined) {
      floor = await summarize(connection, `${floorDir}/*.parquet`)
      // the floor reads as the compactor does, so it drops the rows the compactor's report says it dropped
      const dropped = await droppedRows(compactorDir)
      if (rowsIn !== undefined && floor.rows !== rowsIn - dropped) problems.push(`floor wrote ${floor.rows} rows of ${rowsIn} (${dropped} dropped)`)
    }
    return { problems, compactor, duckdb, floor }
  } finally {
    connection.closeSync()
    instance.closeSync()
  }
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: { compactor: { type: 'string' }, duckdb: { type: 'string' }, floor: { type: 'string' }, 'rows-in': { type: 'string' } },
  })
  if (!values.compactor || !values.duckdb) throw new Error('usage: check.ts --compactor DIR --duckdb FILE [--floor DIR --rows-in N]')
  const result = await checkOutputs(values.compactor, values.duckdb, values.floor, values['rows-in'] === undefined ? undefined : Number(values['rows-in']))
  process.stdout.write(JSON.stringify(result) + '\n')
  if (result.problems.length > 0) {
    process.stderr.write(`OUTPUTS DIFFER:\n  ${result.problems.join('\n  ')}\n`)
    process.exitCode = 1
  }
}

/** Rows the compactor dropped, from the report in its manifest.json (0 when there is none). */
async function droppedRows (compactorDir: string): Promise<number> {
  try {
    const manifest = JSON.parse(await readFile(join(compactorDir, 'manifest.json'), 'utf8')) as { report?: { dropped?: Record<string, number> } }
    return Object.values(manifest.report?.dropped ?? {}).reduce((a, b) => a + b, 0)
  } catch {
    return 0
  }
}
