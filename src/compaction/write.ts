// Output rows -> one ZSTD parquet file (current column names, sorted by name, all optional,
// statistics on) and the segment metadata a lake registers it with (DOMAIN.md section 5).
import { rename, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { fileWriter } from 'hyparquet-writer'
import { writeMetadata } from 'hyparquet-writer/src/metadata.js'
import type { RowGroup, SchemaElement } from 'hyparquet'
import { writeColumnChunk, type ColumnValues } from './column.ts'
import { ROW_ID_WIDTH, metricFingerprints, rowIdBytes } from './ids.ts'
import { toText, type Batch, type CarriedColumn } from './read.ts'
import type { OutputRows } from './output.ts'
import {
  METRIC_NAME, METRIC_TYPE, ROLLUP_COLUMNS, ROW_ID, SKETCH, TID, TIMESTAMP, TSNS, compareUtf8, type ColumnType,
} from './schema.ts'

/** A column of the output schema. */
export interface OutputColumn {
  readonly name: string
  readonly type: ColumnType
}

/** What the caller registers for one output file (DOMAIN.md section 5). */
export interface SegmentMeta {
  segment_id: bigint
  file_name: string
  record_count: number
  file_size: number
  /** [first bucket, last bucket + 1) in ms. */
  ts_range: [number, number]
  metric_names: string[]
  metric_types: number[]
  fingerprints: bigint[]
  sort_version: 3
}

/** Rows per parquet row group in output files: small enough for readers to stream by group. */
export const ROW_GROUP_ROWS = 10_000
const MAGIC = 0x31524150 // "PAR1"
const CREATED_BY = 'metric-compactor'

const METRIC_TYPE_CODES: ReadonlyMap<string, number> = new Map([
  ['gauge', 1], ['sum', 2], ['counter', 2], ['count', 2], ['histogram', 3], ['exponential_histogram', 4], ['summary', 5],
])

/** The numeric metric type of DOMAIN.md section 5: gauge 1, sum/counter/count 2, histogram 3, ... else 0. */
export function metricTypeCode (type: unknown): number {
  return typeof type === 'string' ? METRIC_TYPE_CODES.get(type.toLowerCase()) ?? 0 : 0
}

/** Writes output rows [0, n) as `tbl_<segmentId>.parquet` in dir; returns its segment metadata. */
export async function writeSegmentFile (dir: string, rows: OutputRows, n: number, schema: readonly OutputColumn[], segmentId: bigint): Promise<SegmentMeta> {
  const fileName = `tbl_${segmentId}.parquet`
  const path = join(dir, fileName)
  const partial = path + '.partial'
  try {
    const writer = fileWriter(partial)
    writer.appendUint32(MAGIC)
    const columns = schema.map(column => gather(rows, n, column, segmentId))
    const rowGroups: RowGroup[] = []
    for (let start = 0; start < n; start += ROW_GROUP_ROWS) {
      const end = Math.min(n, start + ROW_GROUP_ROWS)
      const groupStart = writer.offset
      const chunks = schema.map((column, c) => writeColumnChunk(writer, column.name, column.type, columns[c], start, end))
      rowGroups.push({
        columns: chunks,
        total_byte_size: chunks.reduce((sum, chunk) => sum + chunk.meta_data!.total_uncompressed_size, 0n),
        num_rows: BigInt(end - start),
        file_offset: BigInt(groupStart),
        total_compressed_size: BigInt(writer.offset - groupStart),
      })
    }
    writeMetadata(writer, { version: 2, created_by: CREATED_BY, schema: parquetSchema(schema), num_rows: BigInt(n), row_groups: rowGroups, metadata_length: 0 })
    writer.appendUint32(MAGIC)
    writer.finish()
    await rename(partial, path)
  } catch (err) {
    await rm(partial, { force: true })
    throw err
  }
  const { size } = await stat(path)
  return { segment_id: segmentId, file_name: fileName, file_size: size, sort_version: 3, ...describeRows(rows, n) }
}

/** Record count, time range, metric names and types of rows [0, n), which are in sort order. */
function describeRows (rows: OutputRows, n: number): Pick<SegmentMeta, 'record_count' | 'ts_range' | 'metric_names' | 'metric_types' | 'fingerprints'> {
  let lo = Infinity
  let hi = -Infinity
  const names: string[] = []
  const types: number[] = []
  let typeColumn: CarriedColumn | undefined
  let typeBatch: Batch | null = null
  for (let i = 0; i < n; i++) {
    const bucket = rows.buckets[i]
    if (bucket < lo) lo = bucket
    if (bucket > hi) hi = bucket
    const name = rows.names[i]
    if (names.length === 0 || names[names.length - 1] !== name) {
      if (rows.sources[i] !== typeBatch) {
        typeBatch = rows.sources[i]
        typeColumn = typeBatch.carried.get(METRIC_TYPE)
      }
      names.push(name)
      types.push(metricTypeCode(typeColumn ? toText(typeColumn.values[rows.sourceRows[i]] ?? '') : null))
    }
  }
  // names arrive in UTF-8 order already; the sort keeps the promise for any caller
  const order = names.map((_, i) => i).sort((a, b) => compareUtf8(names[a], names[b]))
  return {
    record_count: n,
    ts_range: [lo, hi + 1],
    metric_names: order.map(i => names[i]),
    metric_types: order.map(i => types[i]),
    fingerprints: metricFingerprints(names),
  }
}

function parquetSchema (schema: readonly OutputColumn[]): SchemaElement[] {
  const elements: SchemaElement[] = [{ name: 'schema', num_children: schema.length }]
  for (const { name, type } of schema) {
    const element: SchemaElement = { name, repetition_type: 'OPTIONAL' }
    if (type === 'string') Object.assign(element, { type: 'BYTE_ARRAY', converted_type: 'UTF8', logical_type: { type: 'STRING' } })
    else if (type === 'bytes') element.type = 'BYTE_ARRAY'
    else if (type === 'int64') element.type = 'INT64'
    else if (type === 'double') element.type = 'DOUBLE'
    else element.type = 'BOOLEAN'
    elements.push(element)
  }
  return elements
}

/** The values of one output column for rows [0, n), built column-at-a-time. */
function gather (rows: OutputRows, n: number, column: OutputColumn, segmentId: bigint): ColumnValues {
  switch (column.name) {
    case METRIC_NAME: return { kind: 'strings', values: rows.names }
    case TID: return { kind: 'int64', values: new BigInt64Array(rows.tidWords.buffer, 0, n) }
    case TIMESTAMP: return { kind: 'int64', values: int64Column(rows.buckets, n, 1) }
    case TSNS: return { kind: 'int64', values: int64Column(rows.buckets, n, 1_000_000) }
    case SKETCH: return { kind: 'bytes', values: rows.sketches }
    case ROW_ID: return { kind: 'ascii', bytes: rowIdBytes(segmentId, n), width: ROW_ID_WIDTH }
  }
  const rollup = (ROLLUP_COLUMNS as readonly string[]).indexOf(column.name)
  if (rollup >= 0) return { kind: 'double', values: rows.rollups[rollup] }
  const values = gatherCarried(rows, n, column)
  return column.type === 'string' ? { kind: 'strings', values: values as Array<string | null> } : column.type === 'bytes' ? { kind: 'bytes', values: values as Array<Uint8Array | null> } : { kind: 'values', values }
}

/** A carried column: each row's value from its group's first input row, converted to the output type. */
function gatherCarried (rows: OutputRows, n: number, column: OutputColumn): unknown[] {
  const out = new Array<unknown>(n)
  let batch: Batch | null = null
  let source: CarriedColumn | undefined
  let convert: ((v: unknown) => unknown) | null = null
  for (let i = 0; i < n; i++) {
    if (rows.sources[i] !== batch) {
      batch = rows.sources[i]
      source = batch.carried.get(column.name)
      convert = source && source.type !== column.type ? converter(column.type) : null
    }
    const v = source ? source.values[rows.sourceRows[i]] : null
    out[i] = v === null || v === undefined ? null : convert ? convert(v) : v
  }
  return out
}

function converter (to: ColumnType): (v: unknown) => unknown {
  switch (to) {
    case 'string': return toText
    case 'double': return v => Number(v)
    case 'int64': return v => (typeof v === 'bigint' ? v : BigInt(v as number))
    default: return v => v
  }
}

/**
 * ms values times `factor` as an exact int64 column, built through 32-bit words so that no
 * BigInt is created per row. |value * factor| must be below 2^63.
 */
export function int64Column (values: Float64Array, n: number, factor: number): BigInt64Array {
  const words = new Int32Array(2 * n)
  for (let i = 0; i < n; i++) {
    const v = values[i]
    if (factor === 1) {
      const hi = Math.floor(v / 4294967296)
      words[2 * i] = v - hi * 4294967296
      words[2 * i + 1] = hi
    } else {
      mulToWords(v, factor, words, i)
    }
  }
  return new BigInt64Array(words.buffer)
}

// Exact two's-complement words of v * f for integers |v| < 2^53, 0 < f < 2^21, |v * f| < 2^63.
function mulToWords (v: number, f: number, words: Int32Array, i: number): void {
  const negative = v < 0
  const m = negative ? -v : v
  const mh = Math.floor(m / 67108864) // m = mh * 2^26 + ml
  const ml = m - mh * 67108864
  const x = ml * f // < 2^47
  const y = mh * f // < 2^48, contributes y * 2^26
  const yLow = y % 64 // the part of y * 2^26 below 2^32
  let lo = (x % 4294967296) + yLow * 67108864
  let hi = Math.floor(x / 4294967296) + Math.floor(y / 64)
  if (lo >= 4294967296) {
    lo -= 4294967296
    hi += 1
  }
  if (negative) {
    // two's complement of (hi, lo)
    lo = (4294967296 - lo) % 4294967296
    hi = lo === 0 ? -hi : -hi - 1
  }
  words[2 * i] = lo | 0
  words[2 * i + 1] = hi | 0
}
