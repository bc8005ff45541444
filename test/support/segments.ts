// Writes cooked-metric segments for tests, with hyparquet-writer: rows described one by one,
// sketches built from values, rollups computed from the sketch unless a row overrides them.
import { gzipSync } from 'node:zlib'
import { ParquetWriter, fileWriter } from 'hyparquet-writer'
import type { SchemaElement } from 'hyparquet'
import { SketchAccumulator } from '../../src/compaction/ddsketch.ts'
import { zstdCompress } from '../../src/compaction/codecs.ts'
import { ROLLUP_COLUMNS } from '../../src/compaction/schema.ts'

export interface RowSpec {
  /** The metric name: a string, or raw bytes (which need not be valid UTF-8). */
  name: string | Uint8Array | null
  tid: bigint | string | null
  ts: bigint | number | string | null
  /** Values the sketch is built from; ignored when `sketch` is given. */
  values?: number[]
  /** Raw sketch bytes (null or empty for none). */
  sketch?: Uint8Array | null
  /** Rollup overrides by short name (count, sum, p50...): a number, or null for absent. */
  rollups?: Partial<Record<string, number | null>>
  /** Attribute columns: strings (or raw bytes in a string column), or int64 (bigint), double (number) or bool values. */
  attrs?: Record<string, string | Uint8Array | number | bigint | boolean | null>
  type?: string
}

export interface SegmentOptions {
  /** Write the pre-October-2025 column names. */
  legacy?: boolean
  codec?: 'ZSTD' | 'SNAPPY' | 'GZIP' | 'UNCOMPRESSED'
  /** Rows per row group, or the sizes of the row groups in turn (a 0 writes a row group of no rows). */
  rowGroupSize?: number | number[]
  /** Store chq_tid as decimal strings instead of INT64. */
  tidAsString?: boolean
  /** Annotate chq_tid as unsigned: the UINT_64 converted type, or the INTEGER(64, false) logical type. */
  tidUnsigned?: 'converted' | 'logical'
  /** Write metric_name as a plain BYTE_ARRAY (binary, no UTF8 annotation). */
  nameAsBytes?: boolean
  /** Attribute columns written as plain BYTE_ARRAY (binary) instead of UTF8 strings. */
  bytesAttrs?: string[]
  /** Leave out rollup columns (short names), as the oldest files do with p90. */
  omitRollups?: string[]
  /** Page encodings by column name (e.g. DELTA_BINARY_PACKED), for the general reader's path. */
  encodings?: Record<string, 'PLAIN' | 'DELTA_BINARY_PACKED' | 'DELTA_LENGTH_BYTE_ARRAY' | 'DELTA_BYTE_ARRAY' | 'BYTE_STREAM_SPLIT'>
}

const acc = new SketchAccumulator()
const scratch = new Float64Array(ROLLUP_COLUMNS.length)

/** The sketch bytes and rollups of a set of values (an empty set gives no sketch and no rollups). */
export function sketchOf (values: readonly number[]): { sketch: Uint8Array | null, rollups: number[] } {
  if (values.length === 0) return { sketch: null, rollups: [] }
  acc.reset()
  for (const v of values) acc.addValue(v)
  acc.rollups(scratch)
  return { sketch: acc.encode(), rollups: [...scratch] }
}

/** Writes rows as one parquet segment at path. */
export async function writeSegment (path: string, rows: readonly RowSpec[], options: SegmentOptions = {}): Promise<void> {
  const legacy = options.legacy ?? false
  const n = (current: string, old: string): string => (legacy ? old : current)
  const shortRollups = ROLLUP_COLUMNS.map(c => c.slice('chq_rollup_'.length)).filter(r => !options.omitRollups?.includes(r))
  const attrNames = [...new Set(rows.flatMap(r => Object.keys(r.attrs ?? {})))].sort()

  const sketches = rows.map(r => (r.sketch !== undefined ? { sketch: r.sketch, rollups: [] as number[] } : sketchOf(r.values ?? [])))
  const columns: Array<{ element: SchemaElement, data: unknown[] }> = []
  const add = (name: string, type: 'string' | 'int64' | 'double' | 'bytes' | 'bool', data: unknown[], annotate: Partial<SchemaElement> = {}): void => {
    const element: SchemaElement = { name, repetition_type: 'OPTIONAL' }
    if (type === 'string') Object.assign(element, { type: 'BYTE_ARRAY', converted_type: 'UTF8' })
    else if (type === 'bytes') element.type = 'BYTE_ARRAY'
    else if (type === 'int64') element.type = 'INT64'
    else if (type === 'bool') element.type = 'BOOLEAN'
    else element.type = 'DOUBLE'
    columns.push({ element: { ...element, ...annotate }, data })
  }
  const bytes = (v: string | Uint8Array | null): Uint8Array | null => (typeof v === 'string' ? new TextEncoder().encode(v) : v)
  if (options.nameAsBytes) add(n('metric_name', '_cardinalhq.name'), 'bytes', rows.map(r => bytes(r.name)))
  else add(n('metric_name', '_cardinalhq.name'), 'string', rows.map(r => r.name))
  const unsigned: Partial<SchemaElement> = options.tidUnsigned === 'converted'
    ? { converted_type: 'UINT_64' }
    : options.tidUnsigned === 'logical' ? { logical_type: { type: 'INTEGER', bitWidth: 64, isSigned: false } } : {}
  if (options.tidAsString) add(n('chq_tid', '_cardinalhq.tid'), 'string', rows.map(r => (r.tid === null ? null : String(r.tid))))
  else add(n('chq_tid', '_cardinalhq.tid'), 'int64', rows.map(r => (r.tid === null ? null : BigInt(r.tid))), unsigned)
  add(n('chq_timestamp', '_cardinalhq.timestamp'), 'int64', rows.map(r => (r.ts === null ? null : BigInt(r.ts))))
  add(n('chq_metric_type', '_cardinalhq.metric_type'), 'string', rows.map(r => r.type ?? 'gauge'))
  add(n('chq_sketch', 'sketch'), 'bytes', sketches.map(s => s.sketch ?? new Uint8Array(0)))
  for (const short of shortRollups) {
    const slot = ROLLUP_COLUMNS.indexOf(`chq_rollup_${short}` as typeof ROLLUP_COLUMNS[number])
    add(n(`chq_rollup_${short}`, `rollup_${short}`), 'double', rows.map((r, i) => {
      const override = r.rollups?.[short]
      return override !== undefined ? override : sketches[i].rollups[slot] ?? null
    }))
  }
  for (const attr of attrNames) {
    const data = rows.map(r => r.attrs?.[attr] ?? null)
    const sample = data.find(v => v !== null)
    const type = options.bytesAttrs?.includes(attr) ? 'bytes' : typeof sample === 'bigint' ? 'int64' : typeof sample === 'number' ? 'double' : typeof sample === 'boolean' ? 'bool' : 'string'
    add(legacy ? attr.replace(/^resource_/, 'resource.') : attr, type, type === 'bytes' ? data.map(v => bytes(v as string | Uint8Array | null)) : data)
  }

  const writer = new ParquetWriter({
    writer: fileWriter(path),
    schema: [{ name: 'schema', num_children: columns.length }, ...columns.map(c => c.element)],
    codec: options.codec ?? 'ZSTD',
    compressors: { ZSTD: zstdCompress, GZIP: (input: Uint8Array) => new Uint8Array(gzipSync(input)) },
  })
  await writer.write({
    columnData: columns.map(c => ({ name: c.element.name, data: c.data, encoding: options.encodings?.[c.element.name] })),
    rowGroupSize: options.rowGroupSize ?? 10_000,
  })
  await writer.finish()
}

/**
 * Rows of `series` series of `rows` rows each, sorted, whose attribute `attr_note` changes from row
 * to row with incompressible values (240 hex characters): about 2.7 KiB per series in a compacted
 * file, so that small targets split them into several files, and several times what the first
 * file's estimate expects (attributes are mostly constant along a series).
 */
export function noisyRows (series: number, rows: number, t0: number, seed = 12345): RowSpec[] {
  let state = seed
  const noise = (): string => Array.from({ length: 40 }, () => ((state = (Math.imul(state, 1103515245) + 12345) >>> 0) >>> 8).toString(16).padStart(6, '0')).join('')
  const out: RowSpec[] = []
  for (let tid = 1; tid <= series; tid++) {
    for (let i = 0; i < rows; i++) out.push({ name: 'm', tid: BigInt(tid), ts: t0 + i * 10_000, values: [i], attrs: { attr_note: noise() } })
  }
  return out
}
