// Every reader sees the same values in the compactor's output: DuckDB, hyparquet, parquet-wasm
// (arrow-rs) and nodejs-polars 0.25.2 read each output file of generated bundles (wide-ish, sparse
// attributes with nulls, sketches; compacted at 10 s, rolled up to 60 s, split into several files),
// and a hash per column over the values in file order, normalised (int64 as decimal whether a
// reader gives a bigint, a number or a string; bytes as hex; doubles by their shortest form; null
// as null), is the same for all four. Whatever encodings, page layouts and metadata the writer
// uses, all these readers must decode them to the same values.
import t from 'tap'
import { createHash } from 'node:crypto'
import { mkdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { DuckDBBlobValue, DuckDBInstance } from '@duckdb/node-api'
import { tableFromIPC } from 'apache-arrow'
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects, type SchemaElement } from 'hyparquet'
import { compressors } from 'hyparquet-compressors'
import { readParquet } from 'parquet-wasm'
import { compact } from '../../src/compaction/index.ts'
import { generate } from '../../bench/generate.ts'
import type { DataOptions } from '../../bench/profiles.ts'

/** A few thousand rows in 4 files, up to 70 columns (46 attributes, most of them sparse: about 59 present). */
const DATA: DataOptions = {
  files: 4, rows: 4000, metrics: 10, series: 150, overlap: 0.15, frequencyMs: 10_000,
  rowGroupSize: 700, unsorted: 0, columns: 70, seed: 21,
}

const CASES: Record<string, { frequencyMs: number, recordsPerFile?: number }> = {
  '10 s': { frequencyMs: 10_000 },
  'rolled up to 60 s': { frequencyMs: 60_000 },
  'several files': { frequencyMs: 10_000, recordsPerFile: 900 },
}

type Kind = 'int' | 'double' | 'float' | 'string' | 'bytes' | 'bool'

/** How a column's values are normalised, from its parquet schema element. */
function kindOf (e: SchemaElement): Kind {
  const logical = e.logical_type?.type
  const plainOr = (kind: Kind): Kind => {
    if (logical === undefined || (logical === 'INTEGER' && kind === 'int') || (logical === 'STRING' && kind === 'string')) return kind
    throw new Error(`column ${e.name}: logical type ${logical} on ${e.type}; teach this test to normalise it`)
  }
  switch (e.type) {
    case 'INT64': case 'INT32': return plainOr('int')
    case 'DOUBLE': return plainOr('double')
    case 'FLOAT': return plainOr('float')
    case 'BOOLEAN': return plainOr('bool')
    case 'BYTE_ARRAY': return e.converted_type === 'UTF8' || logical === 'STRING' ? plainOr('string') : plainOr('bytes')
    default: throw new Error(`column ${e.name}: physical type ${e.type}; teach this test to normalise it`)
  }
}

/** One value as text that is the same whichever reader produced it. */
function normalise (kind: Kind, v: unknown, where: string): string {
  if (v === null || v === undefined) return 'null'
  const wrong = (): never => { throw new Error(`${where}: a ${kind} column gave ${typeof v} ${String(v).slice(0, 40)}`) }
  switch (kind) {
    case 'int':
      if (typeof v === 'bigint') return v.toString()
      if (typeof v === 'number' && Number.isSafeInteger(v)) return String(v)
      if (typeof v === 'string' && /^-?\d+$/.test(v)) return BigInt(v).toString()
      return wrong()
    case 'double':
    case 'float':
      if (typeof v !== 'number') return wrong()
      if (Object.is(v, -0)) return '-0'
      return String(kind === 'float' ? Math.fround(v) : v)
    case 'string':
      return typeof v === 'string' ? JSON.stringify(v) : wrong()
    case 'bytes':
      if (v instanceof DuckDBBlobValue) return 'x' + Buffer.from(v.bytes).toString('hex')
      if (v instanceof Uint8Array) return 'x' + Buffer.from(v).toString('hex')
      if (Array.isArray(v) && v.every(b => Number.isInteger(b) && b >= 0 && b < 256)) return 'x' + Buffer.from(v as number[]).toString('hex')
      return wrong()
    case 'bool':
      return typeof v === 'boolean' ? String(v) : wrong()
  }
}

/** What a reader saw in one file: its row count and a hash per column. */
interface Seen {
  rows: number
  /** Null values over all columns. */
  nulls: number
  columns: Record<string, string>
}

/** Hashes a reader's columns (values in file order), normalised by the file's schema. */
function seen (reader: string, kinds: Map<string, Kind>, columns: Map<string, ArrayLike<unknown>>): Seen {
  const out: Seen = { rows: -1, nulls: 0, columns: {} }
  for (const [name, kind] of kinds) {
    const values = columns.get(name)
    if (values === undefined) throw new Error(`${reader}: no column ${name}`)
    if (out.rows === -1) out.rows = values.length
    else if (values.length !== out.rows) throw new Error(`${reader}: column ${name} has ${values.length} values, not ${out.rows}`)
    const hash = createHash('sha256')
    for (let i = 0; i < values.length; i++) {
      const text = normalise(kind, values[i], `${reader} ${name}[${i}]`)
      if (text === 'null') out.nulls++
      hash.update(text + '\n')
    }
    out.columns[name] = hash.digest('hex')
  }
  const extra = [...columns.keys()].filter(c => !kinds.has(c))
  if (extra.length > 0) throw new Error(`${reader}: columns not in the file's schema: ${extra.join(', ')}`)
  return out
}

/** The file's leaf columns and how each is normalised (from hyparquet's footer parse). */
async function schemaKinds (path: string): Promise<Map<string, Kind>> {
  const metadata = await parquetMetadataAsync(await asyncBufferFromFile(path))
  const kinds = new Map<string, Kind>()
  for (const e of metadata.schema.slice(1)) {
    if (e.num_children) throw new Error(`column ${e.name} is nested; teach this test to read it`)
    kinds.set(e.name, kindOf(e))
  }
  return kinds
}

async function viaDuckDB (path: string, kinds: Map<string, Kind>): Promise<Seen> {
  const instance = await DuckDBInstance.create(':memory:', { threads: '1' })
  const connection = await instance.connect()
  try {
    const reader = await connection.runAndReadAll(`SELECT * FROM read_parquet('${path.replaceAll("'", "''")}')`)
    return seen('DuckDB', kinds, new Map(Object.entries(reader.getColumnsObject())))
  } finally {
    connection.closeSync()
    instance.closeSync()
  }
}

async function viaHyparquet (path: string, kinds: Map<string, Kind>): Promise<Seen> {
  // utf8: false, so that a BYTE_ARRAY column without the UTF8 annotation (the sketch) stays bytes
  const rows = await parquetReadObjects({ file: await asyncBufferFromFile(path), compressors, utf8: false })
  const columns = new Map<string, unknown[]>([...kinds.keys()].map(c => [c, rows.map(r => r[c])]))
  return seen('hyparquet', kinds, columns)
}

async function viaParquetWasm (path: string, kinds: Map<string, Kind>): Promise<Seen> {
  const table = tableFromIPC(readParquet(new Uint8Array(await readFile(path))).intoIPCStream())
  const columns = new Map<string, unknown[]>(table.schema.fields.map(f => [f.name, [...table.getChild(f.name)!]]))
  return seen('parquet-wasm', kinds, columns)
}

type Polars = typeof import('nodejs-polars').default
let polars: Polars | null = null
let polarsMissing = ''
try {
  polars = (await import('nodejs-polars')).default
} catch (err) {
  polarsMissing = `nodejs-polars could not be loaded on this machine (${process.platform}-${process.arch}, node ${process.version}): ${(err as Error).message}`
}

function viaPolars (pl: Polars, path: string, kinds: Map<string, Kind>): Seen {
  const df = pl.readParquet(path)
  // nodejs-polars gives int64 as (lossy) JS numbers and cannot hand Binary to JS: cast them first
  const exprs = df.columns.map(c => {
    const kind = kinds.get(c)
    if (kind === 'int') return pl.col(c).cast(pl.Utf8)
    if (kind === 'bytes') return pl.col(c).cast(pl.List(pl.UInt8))
    return pl.col(c)
  })
  const cast = df.select(...exprs)
  const columns = new Map<string, unknown[]>(cast.columns.map(c => [c, cast.getColumn(c).toArray() as unknown[]]))
  return seen('nodejs-polars', kinds, columns)
}

const dir = t.testdir({ in: {} })
const bundle = await generate(DATA, join(dir, 'in'))
const inputs = bundle.files.map(f => ({ path: join(dir, 'in', f.name) }))

t.test('the generated bundle has sparse columns with nulls', async t => {
  t.equal(bundle.files.length, DATA.files)
  t.ok(bundle.unionColumns > 50, `${bundle.unionColumns} columns`)
  t.ok(bundle.files.some(f => f.columns < bundle.unionColumns), 'some files lack some columns')
})

for (const [name, { frequencyMs, recordsPerFile }] of Object.entries(CASES)) {
  t.test(`DuckDB, hyparquet, parquet-wasm and nodejs-polars read the same values: ${name}`, async t => {
    const outDir = join(dir, name.replaceAll(' ', '-'))
    await mkdir(outDir)
    const { files } = await compact({ inputs, outDir, frequencyMs, recordsPerFile })
    t.ok(files.length >= 1, `${files.length} output files`)
    if (recordsPerFile !== undefined) t.ok(files.length > 1, 'several output files')
    let nulls = 0
    for (const file of files) {
      const path = join(outDir, file.file_name)
      const kinds = await schemaKinds(path)
      const reference = await viaDuckDB(path, kinds)
      t.equal(reference.rows, file.record_count, `${file.file_name}: DuckDB reads ${file.record_count} rows`)
      t.same(await viaHyparquet(path, kinds), reference, `${file.file_name}: hyparquet reads what DuckDB reads`)
      t.same(await viaParquetWasm(path, kinds), reference, `${file.file_name}: parquet-wasm reads what DuckDB reads`)
      if (polars !== null) t.same(viaPolars(polars, path, kinds), reference, `${file.file_name}: nodejs-polars reads what DuckDB reads`)
      nulls += reference.nulls
    }
    if (polars === null) t.pass('nodejs-polars compared', { skip: polarsMissing })
    t.ok(nulls > 0, `${nulls} null values read`)
  })
}
