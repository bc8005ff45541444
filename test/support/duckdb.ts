// DuckDB as an independent reader of the compactor's outputs.
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api'

let connection: Promise<DuckDBConnection> | null = null

/** Runs SQL in a shared in-memory DuckDB; returns rows as objects (BIGINT as bigint). */
export async function duck (sql: string): Promise<Array<Record<string, unknown>>> {
  connection ??= DuckDBInstance.create(':memory:', { threads: '1' }).then(db => db.connect())
  const reader = await (await connection).runAndReadAll(sql)
  return reader.getRowObjects() as Array<Record<string, unknown>>
}

/** A SQL string literal. */
export function lit (s: string): string {
  return `'${s.replaceAll("'", "''")}'`
}
