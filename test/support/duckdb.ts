// DuckDB as an independent reader of the compactor's outputs.
import { DuckDBBlobValue, DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api'

let connection: Promise<DuckDBConnection> | null = null

/** Runs SQL in a shared in-memory DuckDB; returns rows as objects (BIGINT as bigint, BLOB as Uint8Array). */
export async function duck (sql: string): Promise<Array<Record<string, unknown>>> {
  connection ??= DuckDBInstance.create(':memory:', { threads: '1' }).then(db => db.connect())
  const reader = await (await connection).runAndReadAll(sql)
  const rows = reader.getRowObjects() as Array<Record<string, unknown>>
  for (const row of rows) {
    for (const [key, value] of Object.entries(row)) if (value instanceof DuckDBBlobValue) row[key] = value.bytes
  }
  return rows
}

/** A SQL string literal. */
export function lit (s: string): string {
  return `'${s.replaceAll("'", "''")}'`
}
