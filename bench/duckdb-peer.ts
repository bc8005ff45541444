// The peer the compactor is measured against: DuckDB (default threads, its own process) running
// the compaction as SQL. It does NOT merge sketches (any_value keeps one of the group's), so it is
// a lower bound for what DuckDB would need to do the same job. Like the compactor, it drops rows
// whose rollups are NaN or infinite.
//
//   node bench/duckdb-peer.ts [--frequency-ms N] -o OUT.parquet FILE...
import { parseArgs } from 'node:util'
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api'

const KEY = new Set(['metric_name', 'chq_tid', 'chq_timestamp', 'chq_tsns'])
const EXACT: Record<string, string> = {
  chq_rollup_count: 'sum(chq_rollup_count)',
  chq_rollup_sum: 'sum(chq_rollup_sum)',
  chq_rollup_avg: 'sum(chq_rollup_sum) / sum(chq_rollup_count)',
  chq_rollup_min: 'min(chq_rollup_min)',
  chq_rollup_max: 'max(chq_rollup_max)',
}

/** A SQL string literal. */
export function sqlString (s: string): string {
  return `'${s.replaceAll("'", "''")}'`
}

/** A SQL identifier. */
export function sqlIdentifier (s: string): string {
  return `"${s.replaceAll('"', '""')}"`
}

/** The compaction as one COPY statement over the given columns (the union of the inputs'). */
export function compactionSql (files: readonly string[], columns: readonly string[], frequencyMs: number, out: string): string {
  const source = `read_parquet([${files.map(sqlString).join(', ')}], union_by_name = true)`
  const select = ['metric_name', 'chq_tid', 'bucket AS chq_timestamp', 'bucket * 1000000 AS chq_tsns']
  for (const column of columns) {
    if (KEY.has(column)) continue
    const id = sqlIdentifier(column)
    select.push(`${EXACT[column] ?? `any_value(${id})`} AS ${id}`)
  }
  // floor(ts / P) * P, exact for negative timestamps too
  const bucket = `chq_timestamp - (((chq_timestamp % ${frequencyMs}) + ${frequencyMs}) % ${frequencyMs})`
  // a row with a NaN or infinite rollup is dropped, as the compactor drops it (nonfinite_rollup)
  const finite = columns.filter(c => c.startsWith('chq_rollup_')).map(c => `(${sqlIdentifier(c)} IS NULL OR isfinite(${sqlIdentifier(c)}))`)
  return `COPY (
  SELECT ${select.join(',\n    ')}
  FROM (SELECT *, ${bucket} AS bucket FROM ${source})${finite.length > 0 ? `\n  WHERE ${finite.join(' AND ')}` : ''}
  GROUP BY metric_name, chq_tid, bucket
  ORDER BY metric_name, chq_tid, chq_timestamp
) TO ${sqlString(out)} (FORMAT parquet, COMPRESSION zstd)`
}

/** Runs the compaction in DuckDB; returns the number of rows written. */
export async function duckdbCompact (connection: DuckDBConnection, files: readonly string[], frequencyMs: number, out: string): Promise<number> {
  const described = await connection.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet([${files.map(sqlString).join(', ')}], union_by_name = true)`)
  const columns = described.getRowObjectsJson().map(r => String(r.column_name))
  const result = await connection.runAndReadAll(compactionSql(files, columns, frequencyMs, out))
  return Number(result.getRowsJson()[0]?.[0] ?? 0)
}

if (import.meta.main) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { 'frequency-ms': { type: 'string', default: '10000' }, out: { type: 'string', short: 'o' }, threads: { type: 'string' } },
  })
  if (!values.out || positionals.length === 0) throw new Error('usage: duckdb-peer.ts [--frequency-ms N] [--threads N] -o OUT.parquet FILE...')
  const instance = await DuckDBInstance.create(':memory:', values.threads ? { threads: values.threads } : {})
  const connection = await instance.connect()
  const rows = await duckdbCompact(connection, positionals, Number(values['frequency-ms']), values.out)
  connection.closeSync()
  instance.closeSync()
  process.stdout.write(JSON.stringify({ rows_out: rows }) + '\n')
}
