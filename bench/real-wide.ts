// The `real-wide` data set: the real segments of ../shared/fixtures/lakerunner (every folder, 41
// files, ~14 800 rows, legacy column names), renamed to the current names as the engine reads them,
// and copied with their timestamps shifted until there are about 1M rows, in 17 inputs of one row
// group each, as real segments are written (each input a slice of time holding every series). The
// folder is the one the tests use (FIXTURES_DIR, else ../shared/fixtures beside the project); without
// it the data set cannot be built and the profiles that need it are skipped, with a message.
//
//   node bench/real-wide.ts [--out DIR]     builds it (bench/data/real-wide by default)
import { existsSync } from 'node:fs'
import { mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { DuckDBInstance } from '@duckdb/node-api'
import { currentName } from '../src/compaction/index.ts'
import { sqlIdentifier, sqlString } from './duckdb-peer.ts'
import { DATASET_FILE, type DatasetInfo } from './generate.ts'
import { BENCH_DIR, DATA_ROOT, type DataOptions } from './profiles.ts'

/** The data set's name (bench/data/<name>) and the profile's. */
export const REAL_WIDE = 'real-wide'
/** Bump when the built bytes change, so that a cached copy is rebuilt. */
export const REAL_WIDE_VERSION = 1
export const REAL_WIDE_ROWS = 1_000_000
export const REAL_WIDE_FILES = 17
/** Bucket width the copies are aligned to: every shift is a multiple of it. */
const ALIGN_MS = 60_000

/** The fixtures folder the tests use. */
export function fixturesDir (): string {
  return resolve(process.env.FIXTURES_DIR ?? join(BENCH_DIR, '..', '..', 'shared', 'fixtures'))
}

/** The data set's description, as bench/generate.ts writes one (options record what it was built from). */
function options (rows: number, columns: number): DataOptions {
  return {
    files: REAL_WIDE_FILES, rows, metrics: 0, series: 0, overlap: 0, frequencyMs: 10_000,
    rowGroupSize: Number.MAX_SAFE_INTEGER, unsorted: 0, columns, seed: REAL_WIDE_VERSION,
  }
}

/** Builds the data set into dir from the fixtures; returns its description. */
export async function buildRealWide (dir: string, log: (line: string) => void = () => {}): Promise<DatasetInfo> {
  const started = performance.now()
  const source = join(fixturesDir(), 'lakerunner')
  if (!existsSync(source)) throw new Error(`${source}: no fixtures (set FIXTURES_DIR), so real-wide cannot be built`)
  await mkdir(dir, { recursive: true })
  for (const name of await readdir(dir)) if (name.endsWith('.parquet') || name === DATASET_FILE) await rm(join(dir, name))

  const instance = await DuckDBInstance.create(':memory:', { threads: '1' }) // one writer: one row group per file
  const connection = await instance.connect()
  try {
    const glob = sqlString(join(source, '*', '*.parquet'))
    const read = `read_parquet(${glob}, union_by_name = true)`
    const described = (await connection.runAndReadAll(`DESCRIBE SELECT * FROM ${read}`)).getRowObjectsJson() as Array<{ column_name: string }>
    // legacy and current names that mean the same column are one column (the first non-null value)
    const byCurrent = new Map<string, string[]>()
    for (const { column_name: name } of described) {
      const current = currentName(name)
      byCurrent.set(current, [...(byCurrent.get(current) ?? []), name])
    }
    const select = [...byCurrent].map(([current, names]) =>
      `${names.length === 1 ? sqlIdentifier(names[0]) : `coalesce(${names.map(sqlIdentifier).join(', ')})`} AS ${sqlIdentifier(current)}`)
    await connection.run(`CREATE TABLE base AS SELECT ${select.join(', ')} FROM ${read}`)
    const [span] = (await connection.runAndReadAll('SELECT count(*)::BIGINT AS n, min(chq_timestamp)::BIGINT AS lo, max(chq_timestamp)::BIGINT AS hi FROM base')).getRowObjectsJson() as Array<Record<string, string>>
    const baseRows = Number(span.n)
    const shift = (Math.floor((Number(span.hi) - Number(span.lo)) / ALIGN_MS) + 1) * ALIGN_MS
    const copies = Math.ceil(REAL_WIDE_ROWS / baseRows)
    const perFile = Math.ceil(copies / REAL_WIDE_FILES)
    log(`real-wide: ${baseRows} fixture rows, ${byCurrent.size} columns; ${copies} copies ${shift} ms apart, ${perFile} per file`)
    const shifted = byCurrent.has('chq_tsns') ? `, chq_tsns + k * ${shift * 1_000_000} AS chq_tsns` : ''
    const files: DatasetInfo['files'] = []
    for (let f = 0; f < REAL_WIDE_FILES; f++) {
      const from = f * perFile
      const to = Math.min(copies, from + perFile)
      if (from >= to) break
      const name = `seg-${String(f).padStart(4, '0')}.parquet`
      const path = join(dir, name)
      await connection.run(`COPY (SELECT * EXCLUDE (k) REPLACE (chq_timestamp + k * ${shift} AS chq_timestamp${shifted})
        FROM base, range(${from}, ${to}) AS r(k) ORDER BY metric_name, chq_tid, chq_timestamp)
        TO ${sqlString(path)} (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 100000000)`)
      const [m] = (await connection.runAndReadAll(`SELECT num_rows::BIGINT AS rows, num_row_groups::BIGINT AS groups FROM parquet_file_metadata(${sqlString(path)})`)).getRowObjectsJson() as Array<Record<string, string>>
      if (Number(m.groups) !== 1) throw new Error(`${name}: ${m.groups} row groups, one wanted`)
      files.push({ name, rows: Number(m.rows), bytes: (await stat(path)).size, sorted: true, columns: byCurrent.size })
    }
    const rows = files.reduce((a, f) => a + f.rows, 0)
    const info: DatasetInfo = {
      generator: REAL_WIDE_VERSION,
      options: options(rows, byCurrent.size),
      files,
      rows,
      uniqueKeys: rows,
      duplicatedKeys: 0,
      unionColumns: byCurrent.size,
      buckets: 0,
      firstBucketMs: Number(span.lo),
      lastBucketMs: Number(span.hi) + (copies - 1) * shift,
      bytes: files.reduce((a, f) => a + f.bytes, 0),
      seconds: (performance.now() - started) / 1000,
    }
    await writeFile(join(dir, DATASET_FILE), JSON.stringify(info, null, 2) + '\n')
    return info
  } finally {
    connection.closeSync()
    instance.closeSync()
  }
}

/** Where the data set is cached. */
export const REAL_WIDE_DIR = join(DATA_ROOT, REAL_WIDE)

if (import.meta.main) {
  const { values } = parseArgs({ options: { out: { type: 'string', default: REAL_WIDE_DIR } } })
  const info = await buildRealWide(values.out, line => process.stderr.write(line + '\n'))
  process.stdout.write(`${info.rows} rows in ${info.files.length} files, ${info.unionColumns} columns, ${(info.bytes / 1048576).toFixed(1)} MiB, in ${info.seconds.toFixed(1)} s -> ${values.out}\n`)
}
